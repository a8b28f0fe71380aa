#pragma once
// A member joining or leaving a room on some cluster node.

#include <string>

namespace chat::server::redis {

struct Presence {
  bool joined = false;
  std::string node;   // the node's id
  std::string field;  // "<node id>:<session id>", the member's key in the room's record
  std::string nick;
  std::string reason;
};

}  // namespace chat::server::redis
