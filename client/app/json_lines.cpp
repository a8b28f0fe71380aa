#include "json_lines.hpp"

#include "quoted.hpp"

#include <google/protobuf/util/json_util.h>

#include <cstdio>

namespace chat::client::app {
namespace {

std::string to_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "null";
  return out;
}

std::string_view state_name(ConnectionState state) {
  switch (state) {
    case ConnectionState::connecting:
      return "connecting";
    case ConnectionState::connected:
      return "connected";
    case ConnectionState::reconnecting:
      return "reconnecting";
    case ConnectionState::closed:
    default:
      return "closed";
  }
}

}  // namespace

std::string json_string(std::string_view text) { return quoted(text); }

std::string json_event(std::string_view name, const google::protobuf::Message& data) {
  return "{\"event\":" + json_string(name) + ",\"data\":" + to_json(data) + "}";
}

std::string json_text(std::string_view name, std::string_view key, std::string_view text) {
  return "{\"event\":" + json_string(name) + "," + json_string(key) + ":" + json_string(text) + "}";
}

std::string json_client_event(const ClientEvent& event) {
  if (const auto* frame = std::get_if<v1::ServerFrame>(&event)) {
    const auto* field = frame->GetDescriptor()->FindFieldByNumber(frame->payload_case());
    if (!field) return json_text("unknown", "detail", "an empty frame");
    return json_event(field->name(), frame->GetReflection()->GetMessage(*frame, field));
  }
  if (const auto* connection = std::get_if<ConnectionEvent>(&event)) {
    return "{\"event\":\"connection\",\"state\":" + json_string(state_name(connection->state)) +
           ",\"detail\":" + json_string(connection->detail) +
           ",\"retry_in_ms\":" + std::to_string(connection->retry_in.count()) + "}";
  }
  if (const auto* resumed = std::get_if<ResumedEvent>(&event)) {
    return "{\"event\":\"resumed\",\"room\":" + json_string(resumed->room) +
           ",\"missed\":" + std::to_string(resumed->missed) + "}";
  }
  const auto& recovered = std::get<RecoveredEvent>(event);
  std::string out = "{\"event\":\"recovered\",\"room\":" + json_string(recovered.room) +
                    ",\"from_seq\":" + std::to_string(recovered.from_seq) +
                    ",\"to_seq\":" + std::to_string(recovered.to_seq) + ",\"messages\":[";
  for (std::size_t i = 0; i < recovered.messages.size(); ++i) {
    if (i > 0) out += ",";
    out += to_json(recovered.messages[i]);
  }
  return out + "]}";
}

}  // namespace chat::client::app
