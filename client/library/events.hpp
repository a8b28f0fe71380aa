#pragma once
// What Client::next_event() yields: frames the server pushed (messages, presence, Gap, ...) and
// what the client itself has to say about its connection and about recovered history.

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "chat.pb.h"

namespace chat::client {

enum class ConnectionState { connecting, connected, reconnecting, closed };

struct ConnectionEvent {
  ConnectionState state = ConnectionState::connecting;
  std::string detail;                     // why it was lost or closed, the server's name, ...
  std::chrono::milliseconds retry_in{0};  // reconnecting: the wait before the next attempt
  int attempt = 0;
};

// After a reconnect the server has taken the client back into a room.
struct ResumedEvent {
  std::string room;
  std::uint64_t missed = 0;  // messages sent while away; they follow as RoomMessage events
};

// Messages fetched from history to fill a hole the server (Gap) or the client noticed.
struct RecoveredEvent {
  std::string room;
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = 0;
  std::vector<v1::RoomMessage> messages;  // ascending; fewer than the range when some were lost
};

using ClientEvent = std::variant<v1::ServerFrame, ConnectionEvent, ResumedEvent, RecoveredEvent>;

}  // namespace chat::client
