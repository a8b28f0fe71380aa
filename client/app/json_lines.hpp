#pragma once
// Script mode's output: one JSON object per line, {"event": NAME, ...}. Protocol messages use
// protobuf's JSON mapping under "data" (64-bit numbers are strings there, as that mapping says).

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "events.hpp"

namespace chat::client::app {

std::string json_string(std::string_view text);  // quoted and escaped
// {"event":"<name>","data":<message as JSON>}
std::string json_event(std::string_view name, const google::protobuf::Message& data);
// {"event":"<name>","<key>":"<text>"}
std::string json_text(std::string_view name, std::string_view key, std::string_view text);
std::string json_client_event(const ClientEvent& event);

}  // namespace chat::client::app
