#pragma once
// chat.v1 over WebSocket, after the upgrade: one message is one ClientFrame or ServerFrame, either
// serialized (subprotocol "chat.v1", binary messages) or in protobuf's JSON mapping
// ("chat.v1.json", text messages, what the browser client speaks). Pings are answered, a close
// ends the input, and a closing session sends a close frame with the status for its reason.
//
// Encode once per format: a binary message reuses the frame's serialized bytes and only its
// 2-10 byte header is written while the batch is copied into the send buffer (the copy a chat.v1
// frame gets too); a JSON message is built by the first session that sends it and kept on the
// shared frame for every other JSON session.

#include <optional>

#include "client_codec.hpp"
#include "websocket_format.hpp"
#include "websocket_frames.hpp"

namespace chat::server {

class WebSocketCodec final : public ClientCodec {
 public:
  WebSocketCodec(WebSocketFormat format, std::size_t max_message_bytes);

  void feed(std::string_view bytes) override { decoder_.feed(bytes); }
  Input next(v1::ClientFrame& request) override;
  std::string_view unparsable_payload() const override { return payload_; }
  std::string problem() const override { return problem_; }
  std::uint64_t problem_request_id() const override { return problem_request_id_; }
  SharedFrame take_reply() override { return std::move(reply_); }
  void release_if_idle() override;

  SharedFrame closing_frame(v1::Disconnect::Reason reason, std::string_view message) const override;
  const Connection::Encoder* encoder() const override { return this; }
  void append(std::string& out, const EncodedFrame& frame) const override;
  std::string_view transport() const override {
    return format_ == WebSocketFormat::json ? "ws-json" : "ws";
  }

  // The close status a session closing for this reason sends.
  static websocket::CloseCode close_code_for(v1::Disconnect::Reason reason);

 private:
  Input take_data(const websocket::Message& message, v1::ClientFrame& request);
  // False, with problem_ set, when the text is not a ClientFrame in JSON.
  bool parse_json(std::string_view json, v1::ClientFrame& request);

  WebSocketFormat format_;
  websocket::Decoder decoder_;
  std::string_view payload_;
  std::string problem_;
  std::uint64_t problem_request_id_ = 0;
  SharedFrame reply_;
  std::optional<websocket::CloseCode> failure_code_;  // the stream failed: the close it gets
};

}  // namespace chat::server
