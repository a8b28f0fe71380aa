#pragma once
// Channels and rooms: the IRC channel "#x" is the room "x", and "##x" the room "#x" (a room name
// may start with '#'), so every room has a channel and every "#" channel names a room.

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

// "nick!nick@chat": every client's source, whatever front end it came through.
inline std::string source_of(std::string_view nick) {
  std::string source(nick);
  source += '!';
  source += nick;
  source += "@chat";
  return source;
}

}  // namespace chat::server::irc
