#include "websocket_codec.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <cmath>

namespace chat::server {
namespace {

using websocket::CloseCode;
using websocket::Opcode;

// The unknown field a JSON request's unknown fields are recorded as (the largest field number).
constexpr int unknown_json_field_number = (1 << 29) - 1;

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

// The requestId of a JSON request that is not a ClientFrame, when it is an object that names one
// (as a string, as protobuf's mapping writes a uint64, or as a whole number): its error answers it.
std::uint64_t request_id_in(std::string_view json) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage({json.data(), json.size()}, &object).ok())
    return 0;
  for (const char* name : {"requestId", "request_id"}) {
    const auto field = object.fields().find(name);
    if (field == object.fields().end()) continue;
    const auto& value = field->second;
    if (value.has_string_value()) {
      const std::string& text = value.string_value();
      std::uint64_t id = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
      return error == std::errc{} && end == text.data() + text.size() ? id : 0;
    }
    const double number = value.number_value();
    const bool whole = number >= 0 && number <= 9007199254740992.0 && std::floor(number) == number;
    return whole ? static_cast<std::uint64_t>(number) : 0;
  }
  return 0;
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
      failure_code_ = decoder_.error_code();
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
  problem_request_id_ = 0;
  const bool json = format_ == WebSocketFormat::json;
  if (json != (message.opcode == Opcode::text)) {
    // RFC 6455 7.4.1: 1003, "a type of data it cannot accept".
    failure_code_ = CloseCode::unsupported_data;
    problem_ = json ? "chat.v1.json takes text messages" : "chat.v1 takes binary messages";
    return Input::error;
  }
  if (!json) {
    return request.ParseFromArray(payload_.data(), static_cast<int>(payload_.size()))
               ? Input::request
               : Input::unparsable;
  }
  if (parse_json(payload_, request)) return Input::request;
  problem_request_id_ = request_id_in(payload_);
  return Input::invalid;
}

bool WebSocketCodec::parse_json(std::string_view json, v1::ClientFrame& request) {
  const google::protobuf::StringPiece text(json.data(), json.size());
  request.Clear();
  const auto status = google::protobuf::util::JsonStringToMessage(text, &request);
  if (status.ok()) return true;
  // Unknown fields are skipped, as protobuf keeps unknown field numbers aside in the binary
  // format: a request kind this server does not know is answered UNSUPPORTED, as on the chat
  // port. They are kept as an unknown field, which is how the session tells it from no request.
  google::protobuf::util::JsonParseOptions skip_unknown;
  skip_unknown.ignore_unknown_fields = true;
  request.Clear();
  if (google::protobuf::util::JsonStringToMessage(text, &request, skip_unknown).ok()) {
    request.GetReflection()->MutableUnknownFields(&request)->AddLengthDelimited(
        unknown_json_field_number);
    return true;
  }
  problem_ = "not a ClientFrame in JSON: ";
  problem_.append(status.message().data(), status.message().size());
  return false;
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
  if (failure_code_) return wire_ready_frame(websocket::close_frame(*failure_code_, problem_));
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
