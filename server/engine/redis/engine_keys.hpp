#pragma once
// Where the cluster engine keeps things in Redis: every key and channel name, in one place.
//
// Each key names what it belongs to as its hash tag ("{...}"), so that in a Redis Cluster
// everything of one room (and of one nick, account or node) is in one slot, where a script can
// change it atomically, and different rooms spread over the masters. The Lua scripts
// (redis_scripts.hpp) build a room's keys from its prefix the same way. Only the set of nodes, the
// room index and the sweep lock are one key each for the whole deployment.

#include <iterator>
#include <string>
#include <vector>

namespace chat::server::redis::keys {

inline const std::string prefix = "chat:";
inline const std::string rooms_prefix = prefix + "r:{";
// "chat:r:{<room key>}": followed by ":seq", ":log", ":ids", ":edits", ":topic", ":members",
// ":name"; also the room's shard channel.
inline std::string room(const std::string& room_key) { return rooms_prefix + room_key + "}"; }
inline std::string seq(const std::string& room_key) { return room(room_key) + ":seq"; }
inline std::string stream(const std::string& room_key) { return room(room_key) + ":log"; }
inline std::string edits(const std::string& room_key) { return room(room_key) + ":edits"; }
inline std::string topic(const std::string& room_key) { return room(room_key) + ":topic"; }
inline std::string members(const std::string& room_key) { return room(room_key) + ":members"; }
inline std::string name(const std::string& room_key) { return room(room_key) + ":name"; }
inline std::string channel(const std::string& room_key) { return room(room_key); }
// A room script's keys (redis_scripts.hpp): all seven, in the order the scripts expect.
inline constexpr const char* room_key_suffixes[] = {":seq",   ":log",     ":ids", ":edits",
                                                    ":topic", ":members", ":name"};

// A room script's arguments: the key count, the room's keys, then argv.
inline std::vector<std::string> room_script(const std::string& room_key,
                                            std::vector<std::string> argv) {
  const std::string r = room(room_key);
  std::vector<std::string> args{std::to_string(std::size(room_key_suffixes))};
  for (const char* suffix : room_key_suffixes) args.push_back(r + suffix);
  args.insert(args.end(), std::make_move_iterator(argv.begin()),
              std::make_move_iterator(argv.end()));
  return args;
}

// The same count and keys onto a command being encoded; room is room(room_key).
template <typename Encoder>
void add_room_keys(Encoder& encoder, const std::string& room) {
  encoder.arg(std::to_string(std::size(room_key_suffixes)));
  for (const char* suffix : room_key_suffixes) encoder.arg(room, suffix);
}

// The room key of a room's channel (nullopt-like "" when it is not one).
inline std::string room_of_channel(const std::string& channel) {
  if (!channel.starts_with(rooms_prefix) || !channel.ends_with("}")) return {};
  return channel.substr(rooms_prefix.size(), channel.size() - rooms_prefix.size() - 1);
}

inline const std::string room_index = prefix + "room-index";  // sorted set of room keys
inline std::string account(const std::string& nick_key) {     // the password hash
  return prefix + "account:{" + nick_key + "}";
}
inline std::string nick(const std::string& nick_key) {  // "<node>:<session>" holding it
  return prefix + "nick:{" + nick_key + "}";
}
inline std::string markers(const std::string& account_key) {
  return prefix + "read:{" + account_key + "}";
}

inline const std::string nodes = prefix + "nodes";            // the set of node ids
inline const std::string sweep_lock = prefix + "sweep-lock";  // the node sweeping now
inline const std::string nodes_prefix = prefix + "node:{";
// "chat:node:{<id>}": the heartbeat; ":rooms" and ":nicks", the rooms it has members in and the
// nicks its sessions hold.
inline std::string node(const std::string& node_id) { return nodes_prefix + node_id + "}"; }
inline std::string node_rooms(const std::string& node_id) { return node(node_id) + ":rooms"; }
inline std::string node_nicks(const std::string& node_id) { return node(node_id) + ":nicks"; }

}  // namespace chat::server::redis::keys
