#pragma once
// Where the cluster engine keeps things in Redis: every key and channel name, in one place. The
// Lua scripts (redis_scripts.hpp) build a room's keys from its prefix the same way.

#include <string>

namespace chat::server::redis::keys {

inline const std::string prefix = "chat:";
inline const std::string rooms_prefix = prefix + "r:";
// "chat:r:<room key>": followed by ":seq", ":log", ":ids", ":edits", ":topic", ":members"; also
// the room's pub/sub channel.
inline std::string room(const std::string& room_key) { return rooms_prefix + room_key; }
inline std::string stream(const std::string& room_key) { return room(room_key) + ":log"; }
inline std::string edits(const std::string& room_key) { return room(room_key) + ":edits"; }
inline std::string topic(const std::string& room_key) { return room(room_key) + ":topic"; }
inline std::string members(const std::string& room_key) { return room(room_key) + ":members"; }
inline std::string channel(const std::string& room_key) { return room(room_key); }

inline const std::string rooms = prefix + "rooms";            // room key -> display name
inline const std::string room_index = prefix + "room-index";  // sorted set of room keys
inline const std::string accounts = prefix + "accounts";      // nick key -> password hash
inline const std::string nicks = prefix + "nicks";            // nick key -> "<node>:<session>"
inline std::string markers(const std::string& account_key) {
  return prefix + "read:" + account_key;
}

inline const std::string nodes = prefix + "nodes";            // the set of node ids
inline const std::string sweep_lock = prefix + "sweep-lock";  // the node sweeping now
inline const std::string nodes_prefix = prefix + "node:";
inline std::string node(const std::string& node_id) { return nodes_prefix + node_id; }  // heartbeat
inline std::string node_rooms(const std::string& node_id) { return node(node_id) + ":rooms"; }

}  // namespace chat::server::redis::keys
