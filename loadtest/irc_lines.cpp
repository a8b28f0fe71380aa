#include "irc_lines.hpp"

#include <charconv>

namespace chat::loadtest {
namespace {

// The next space-separated word of rest, taken off its front.
std::string_view take_word(std::string_view& rest) {
  const auto space = rest.find(' ');
  const std::string_view word = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
  while (rest.starts_with(' ')) rest.remove_prefix(1);
  return word;
}

// The value of msgid in "@a=b;msgid=12/room;c" as a sequence (0 when absent or not SEQ/...).
std::uint64_t sequence_of(std::string_view tags) {
  for (std::string_view rest = tags; !rest.empty();) {
    const auto semicolon = rest.find(';');
    const std::string_view tag = rest.substr(0, semicolon);
    rest = semicolon == std::string_view::npos ? std::string_view{} : rest.substr(semicolon + 1);
    if (!tag.starts_with("msgid=")) continue;
    const std::string_view value = tag.substr(6);
    std::uint64_t seq = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seq);
    return error == std::errc{} && end != value.data() && *end == '/' ? seq : 0;
  }
  return 0;
}

void append_line(std::string& out, std::string_view command, std::string_view channel_room,
                 std::string_view trailing) {
  out.append(command);
  if (!channel_room.empty()) out.append(" #").append(channel_room);
  if (!trailing.empty()) out.append(" :").append(trailing);
  out.append("\r\n");
}

}  // namespace

void append_irc_request(std::string& out, const v1::ClientFrame& frame) {
  switch (frame.request_case()) {
    case v1::ClientFrame::kHello: {
      const std::string& nick = frame.hello().nick();
      out.append("CAP REQ :echo-message message-tags\r\nNICK ").append(nick).append("\r\n");
      out.append("USER ").append(nick).append(" 0 * :chat-loadtest\r\nCAP END\r\n");
      break;
    }
    case v1::ClientFrame::kJoin:
      append_line(out, "JOIN", frame.join().room(), {});
      break;
    case v1::ClientFrame::kSend:
      append_line(out, "PRIVMSG", frame.send().room(), frame.send().text());
      break;
    default:
      break;
  }
}

void append_irc_pong(std::string& out, std::string_view token) {
  out.append("PONG :").append(token).append("\r\n");
}

IrcEvent read_irc_event(std::string_view line) {
  IrcEvent event;
  std::string_view rest = line;
  std::string_view tags;
  if (rest.starts_with('@')) tags = take_word(rest).substr(1);
  std::string_view source;
  if (rest.starts_with(':')) source = take_word(rest).substr(1);
  const std::string_view command = take_word(rest);
  if (command == "PRIVMSG") {
    const std::string_view target = take_word(rest);
    if (!target.starts_with('#')) return event;  // a direct message: not part of the figures
    event.kind = IrcEvent::Kind::message;
    event.room = target.substr(1);
    event.seq = sequence_of(tags);
    event.nick = source.substr(0, source.find('!'));
    event.text = rest.starts_with(':') ? rest.substr(1) : rest;
  } else if (command == "PING") {
    event.kind = IrcEvent::Kind::ping;
    event.text = rest.starts_with(':') ? rest.substr(1) : rest;
  } else if (command == "001") {
    event.kind = IrcEvent::Kind::welcome;
  } else if (command == "433") {
    event.kind = IrcEvent::Kind::nick_in_use;
  } else if (command == "366") {
    take_word(rest);  // our nick
    const std::string_view channel = take_word(rest);
    event.kind = IrcEvent::Kind::joined;
    event.room = channel.starts_with('#') ? channel.substr(1) : channel;
  } else if (command == "ERROR") {
    event.kind = IrcEvent::Kind::closing;
    event.text = rest.starts_with(':') ? rest.substr(1) : rest;
  } else if (command == "FAIL" || (command.size() == 3 && command >= "400" && command < "600" &&
                                   command != "422")) {  // 422: no MOTD, which is no error
    event.kind = IrcEvent::Kind::error;
    event.text = rest;
  }
  return event;
}

}  // namespace chat::loadtest
