#pragma once
// Channels and rooms: the IRC channel "#x" is the room "x", and "##x" the room "#x" (a room name
// may start with '#'), so every room has a channel and every "#" channel names a room.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat::server::irc {

inline bool is_channel(std::string_view target) { return !target.empty() && target[0] == '#'; }

inline std::string room_of(std::string_view channel) { return std::string(channel.substr(1)); }

inline std::string channel_of(std::string_view room) {
  std::string channel;  // (not "#" + std::string: GCC 12 warns of an overlap that cannot happen)
  channel.reserve(room.size() + 1);
  channel += '#';
  channel += room;
  return channel;
}

// A room message's msgid: "SEQ/ROOM" (a tag value, escaped where it is sent as one).
inline std::string msgid_of(std::uint64_t seq, std::string_view room) {
  std::string msgid = std::to_string(seq);
  msgid += '/';
  msgid += room;
  return msgid;
}

// The sequence a msgid names in this room, or nothing when it is not one of the room's.
inline std::optional<std::uint64_t> seq_of_msgid(std::string_view msgid, std::string_view room) {
  const auto slash = msgid.find('/');
  if (slash == std::string_view::npos || msgid.substr(slash + 1) != room) return std::nullopt;
  std::uint64_t seq = 0;
  const auto [end, error] = std::from_chars(msgid.data(), msgid.data() + slash, seq);
  if (error != std::errc{} || end != msgid.data() + slash || seq == 0) return std::nullopt;
  return seq;
}

// "nick!nick@chat": every client's source, whatever front end it came through.
inline std::string source_of(std::string_view nick) {
  std::string source(nick);
  source += '!';
  source += nick;
  source += "@chat";
  return source;
}

}  // namespace chat::server::irc
