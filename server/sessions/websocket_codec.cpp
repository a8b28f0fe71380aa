#include "websocket_codec.hpp"

#include <google/protobuf/util/json_util.h>

namespace chat::server {
namespace {

using websocket::CloseCode;
using websocket::Opcode;

// What the decoder may keep allocated between reads.
constexpr std::size_t idle_decoder_bytes = 512;

std::string json_message(const EncodedFrame& frame) {
  v1::ServerFrame message;
  const std::string_view body = frame_body(frame);
  std::string json;
  if (!message.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
      !google::protobuf::util::MessageToJsonString(message, &json).ok()) {
    json = R"({"error":{"message":"a frame could not be encoded as JSON"}})";
  }
  std::string out;
  websocket::append_header(out, Opcode::text, json.size());
  out.append(json);
  return out;
}

}  // namespace

WebSocketCodec::WebSocketCodec(WebSocketFormat format, std::size_t max_message_bytes)
    : format_(format), decoder_(max_message_bytes) {}

ClientCodec::Input WebSocketCodec::next(v1::ClientFrame& request) {
  websocket::Message message;
  switch (decoder_.next(message)) {
    case websocket::DecodeStatus::need_more:
      return Input::need_more;
    case websocket::DecodeStatus::error:
      decode_failed_ = true;
      problem_ = decoder_.error_reason();
      return Input::error;
    case websocket::DecodeStatus::message:
      break;
  }
  switch (message.opcode) {
    case Opcode::ping:
      reply_ = wire_ready_frame(websocket::control_frame(Opcode::pong, message.payload));
      return Input::reply;
    case Opcode::pong:
      return next(request);  // an answer to nothing the server asked: ignored
    case Opcode::close:
      return Input::end;
    default:
      return take_data(message, request);
  }
}

ClientCodec::Input WebSocketCodec::take_data(const websocket::Message& message,
                                             v1::ClientFrame& request) {
  payload_ = message.payload;
  const bool json = format_ == WebSocketFormat::json;
  if (json != (message.opcode == Opcode::text)) {
    problem_ = json ? "chat.v1.json takes text messages" : "chat.v1 takes binary messages";
    return Input::invalid;
  }
  if (!json) {
    return request.ParseFromArray(payload_.data(), static_cast<int>(payload_.size()))
               ? Input::request
               : Input::unparsable;
  }
  request.Clear();
  const auto status =
      google::protobuf::util::JsonStringToMessage({payload_.data(), payload_.size()}, &request);
  if (status.ok()) return Input::request;
  problem_ = "not a ClientFrame in JSON: " + std::string(status.message());
  return Input::invalid;
}

void WebSocketCodec::release_if_idle() { decoder_.release_if_idle(idle_decoder_bytes); }

CloseCode WebSocketCodec::close_code_for(v1::Disconnect::Reason reason) {
  switch (reason) {
    case v1::Disconnect::SERVER_SHUTDOWN:
      return CloseCode::going_away;
    case v1::Disconnect::PROTOCOL_ERROR:
      return CloseCode::protocol_error;
    case v1::Disconnect::OVERLOADED:
    case v1::Disconnect::TOO_MANY_CONNECTIONS:
      return CloseCode::try_again_later;
    case v1::Disconnect::REASON_UNSPECIFIED:
      return CloseCode::normal;
    default:
      return CloseCode::policy_violation;  // slow consumer, rate limits, timeouts, ...
  }
}

SharedFrame WebSocketCodec::closing_frame(v1::Disconnect::Reason reason,
                                          std::string_view message) const {
  if (decode_failed_)
    return wire_ready_frame(websocket::close_frame(decoder_.error_code(), problem_));
  return wire_ready_frame(websocket::close_frame(close_code_for(reason), message));
}

void WebSocketCodec::append(std::string& out, const EncodedFrame& frame) const {
  if (frame.wire_ready) {
    out.append(frame.bytes);
    return;
  }
  if (format_ == WebSocketFormat::json) {
    std::call_once(frame.other_format_once, [&] { frame.other_format = json_message(frame); });
    out.append(frame.other_format);
    return;
  }
  const std::string_view body = frame_body(frame);
  websocket::append_header(out, Opcode::binary, body.size());
  out.append(body);
}

}  // namespace chat::server
