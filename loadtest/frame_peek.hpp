#pragma once
// Reads the few fields the load test needs from a ServerFrame's wire bytes without a full protobuf
// parse: the harness must check more than 5M deliveries/s on one core. Any frame that is not a
// room message is left to the ordinary parser.

#include <cstdint>
#include <optional>
#include <string_view>

namespace chat::loadtest {

struct PeekedMessage {
  std::string_view room;
  std::uint64_t seq = 0;
  std::string_view text;
};

// The room message in a ServerFrame body, or nullopt when the frame holds something else (or is
// malformed: the caller then parses it properly and reports what it is).
std::optional<PeekedMessage> peek_room_message(std::string_view frame_body);

}  // namespace chat::loadtest
