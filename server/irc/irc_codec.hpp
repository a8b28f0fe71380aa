#pragma once
// IRC on the IRC listener, as a wire format of the chat.v1 session: lines in become requests
// (Commands), frames out become lines (Renderer), so rooms, history, accounts, limits and the
// cluster are the ones every other front end has. What IRC answers without the session (CAP,
// PING, MODE, numerics for lines in error) goes out as replies, in the order the lines came.

#include <functional>
#include <memory>

#include "client_codec.hpp"
#include "irc_client_state.hpp"
#include "irc_commands.hpp"
#include "irc_line_reader.hpp"
#include "irc_renderer.hpp"

namespace chat::server::irc {

class IrcCodec final : public ClientCodec {
 public:
  IrcCodec(std::string server_name, Commands::Settings settings);

  void feed(std::string_view bytes) override { reader_.feed(bytes); }
  Input next(v1::ClientFrame& request) override;
  std::string_view unparsable_payload() const override { return {}; }
  std::string problem() const override { return {}; }  // every line is answered, never fatal
  SharedFrame take_reply() override { return std::move(reply_); }
  void release_if_idle() override { reader_.release_if_idle(); }
  void on_answer(const EncodedFrame& frame) override;

  SharedFrame closing_frame(v1::Disconnect::Reason reason, std::string_view message) const override;
  const Connection::Encoder* encoder() const override { return this; }
  // Renders on the shard's thread as the connection sends: the renderer's state changes with
  // what the client was shown, hence the pointer (the interface is const for shared encoders).
  void append(std::string& out, const EncodedFrame& frame) const override {
    renderer_->render(out, frame);
  }
  std::string_view transport() const override { return "irc"; }
  bool delays_over_rate() const override { return true; }
  bool answers_in_order() const override { return true; }
  std::string quit_reason() const override;

 private:
  // Parses the next line into commands; false when no complete line is buffered.
  bool read_line();

  std::unique_ptr<ClientState> state_;
  LineReader reader_;
  Commands commands_;
  std::unique_ptr<Renderer> renderer_;
  SharedFrame reply_;
  bool ended_ = false;
};

}  // namespace chat::server::irc
