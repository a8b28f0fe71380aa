#include "irc_codec.hpp"

#include <google/protobuf/io/coded_stream.h>

#include "names.hpp"

namespace chat::server::irc {
namespace {

// ServerFrame.request_id (field 1, varint) comes first when it is set.
constexpr std::uint32_t request_id_tag = (v1::ServerFrame::kRequestIdFieldNumber << 3) | 0;

}  // namespace

IrcCodec::IrcCodec(std::string server_name, Commands::Settings settings)
    : state_(std::make_unique<ClientState>()),
      commands_(*state_, std::move(settings)),
      renderer_(std::make_unique<Renderer>(*state_)) {
  state_->server_name = std::move(server_name);
  state_->history_limit = commands_.history_limit();
}

ClientCodec::Input IrcCodec::next(v1::ClientFrame& request) {
  for (;;) {
    if (commands_.has_output()) {
      Commands::Output output = commands_.take_output();
      if (output.is_request) {
        request = std::move(output.request);
        return Input::request;
      }
      reply_ = wire_ready_frame(std::move(output.lines));
      return Input::reply;
    }
    if (commands_.quit()) {
      if (ended_) return Input::need_more;
      ended_ = true;
      return Input::end;
    }
    if (!read_line()) return Input::need_more;
  }
}

bool IrcCodec::read_line() {
  std::string_view line;
  switch (reader_.next(line)) {
    case LineReader::Status::need_more:
      return false;
    case LineReader::Status::too_long:
      commands_.line_too_long();
      return true;
    case LineReader::Status::line:
      break;
  }
  if (line.find('\0') != std::string_view::npos) {
    commands_.line_has_nul();
    return true;
  }
  if (auto message = parse_message(line)) commands_.handle(*message);
  return true;
}

void IrcCodec::on_answer(const EncodedFrame& frame) {
  const std::string_view body = frame_body(frame);
  // Most answers change nothing on the input side: those are not parsed twice (a NAMES answer
  // has hundreds of nicks).
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(body.data()),
                                            static_cast<int>(body.size()));
  std::uint64_t request_id = 0;
  if (in.ReadTag() != request_id_tag || !in.ReadVarint64(&request_id) ||
      !commands_.watches_answer(request_id))
    return;
  v1::ServerFrame answer;
  if (answer.ParseFromArray(body.data(), static_cast<int>(body.size())))
    commands_.on_answer(answer);
}

std::string IrcCodec::quit_reason() const {
  if (!commands_.quit()) return {};
  return commands_.quit_message().empty() ? "Client Quit" : "Quit: " + commands_.quit_message();
}

SharedFrame IrcCodec::closing_frame(v1::Disconnect::Reason reason, std::string_view message) const {
  if (reason != v1::Disconnect::REASON_UNSPECIFIED) return nullptr;  // the Disconnect says it
  std::string why = commands_.quit() ? "Quit: " + commands_.quit_message() : std::string(message);
  return wire_ready_frame("ERROR :Closing link: " + why + "\r\n");
}

}  // namespace chat::server::irc
