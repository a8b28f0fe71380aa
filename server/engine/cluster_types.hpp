#pragma once
// What the cluster engine tells the core about rooms and members on other nodes.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "chat.pb.h"

namespace chat::server {

// A member joining, leaving or changing nick in a room on some cluster node.
struct Presence {
  enum class Change { joined, left, renamed };
  Change change = Change::joined;
  std::string node;    // the node's id
  std::string field;   // "<node id>:<session id>", the member's key in the room's record
  std::string nick;    // the new nick when renamed
  std::string detail;  // left: the reason; renamed: the old nick
  // joined: whether the nick is a logged-in account, and the member's real name.
  bool account = false;
  std::string real_name;
  bool quit = false;  // left: the member's connection ended (it did not Leave)
};

// A room's members on every node: field ("<node>:<session>") -> nick.
using RoomMembers = std::vector<std::pair<std::string, std::string>>;

// The node a member's field belongs to.
inline std::string node_of(const std::string& field) { return field.substr(0, field.find(':')); }

// A room as the cluster has it when a node starts following it.
struct LoadedRoom {
  bool ok = false;
  std::string error;
  std::string name;  // empty when the room has never had a message or topic
  std::string topic;
  std::uint64_t last_seq = 0;
  std::vector<v1::RoomMessage> recent;  // ascending, at most the count asked for
  RoomMembers members;                  // every node's
};

struct ListedRooms {
  bool ok = false;
  std::string error;
  std::vector<v1::RoomInfo> rooms;  // in key order
};

}  // namespace chat::server
