#pragma once
// A member joining, leaving or changing nick in a room on some cluster node.

#include <string>
#include <utility>
#include <vector>

namespace chat::server::redis {

struct Presence {
  enum class Change { joined, left, renamed };
  Change change = Change::joined;
  std::string node;    // the node's id
  std::string field;   // "<node id>:<session id>", the member's key in the room's record
  std::string nick;    // the new nick when renamed
  std::string detail;  // left: the reason; renamed: the old nick
};

// A room's members on every node: field ("<node>:<session>") -> nick.
using RoomMembers = std::vector<std::pair<std::string, std::string>>;

// The node a member's field belongs to.
inline std::string node_of(const std::string& field) { return field.substr(0, field.find(':')); }

}  // namespace chat::server::redis
