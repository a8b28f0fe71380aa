#include "command.hpp"

#include <charconv>

#include "utf8.hpp"

namespace chat::client::app {
namespace {

using namespace command;

// Splits off the first word; rest keeps everything after the spaces that follow it.
std::string_view next_word(std::string_view& rest) {
  const auto start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const auto end = rest.find(' ');
  const std::string_view word = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  const auto text = rest.find_first_not_of(' ');
  rest = text == std::string_view::npos ? std::string_view{} : rest.substr(text);
  return word;
}

std::optional<std::uint64_t> parse_number(std::string_view word) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (error != std::errc{} || end != word.data() + word.size() || word.empty()) return {};
  return value;
}

ParseError usage(std::string_view name) {
  for (const CommandInfo& info : command_list()) {
    if (info.name == name) return {"usage: " + std::string(info.usage)};
  }
  return {"usage: " + std::string(name)};
}

std::variant<Command, ParseError> parse_slash(std::string_view name, std::string_view rest) {
  if (name == "/join" || name == "/j") {
    const auto room = next_word(rest);
    if (room.empty() || !rest.empty()) return usage("/join");
    return Join{std::string(room)};
  }
  if (name == "/leave" || name == "/part") {
    const auto room = next_word(rest);
    if (!rest.empty()) return usage("/leave");
    return Leave{room.empty() ? std::nullopt : std::optional<std::string>(room)};
  }
  if (name == "/msg" || name == "/m") {
    const auto nick = next_word(rest);
    if (nick.empty() || rest.empty()) return usage("/msg");
    return Msg{std::string(nick), std::string(rest)};
  }
  if (name == "/me") {
    if (rest.empty()) return usage("/me");
    return Me{std::string(rest)};
  }
  if (name == "/nick") {
    const auto nick = next_word(rest);
    if (nick.empty() || !rest.empty()) return usage("/nick");
    return Nick{std::string(nick)};
  }
  if (name == "/who" || name == "/names") {
    const auto room = next_word(rest);
    if (!rest.empty()) return usage("/who");
    return Who{room.empty() ? std::nullopt : std::optional<std::string>(room)};
  }
  if (name == "/rooms" || name == "/list") {
    if (!rest.empty()) return usage("/rooms");
    return Rooms{};
  }
  if (name == "/topic")
    return Topic{rest.empty() ? std::nullopt : std::optional<std::string>(rest)};
  if (name == "/history") {
    const auto count = next_word(rest);
    if (count.empty()) return History{};
    const auto n = parse_number(count);
    if (!n || *n == 0 || *n > 10'000 || !rest.empty()) return usage("/history");
    return History{static_cast<std::uint32_t>(*n)};
  }
  if (name == "/edit") {
    std::string_view text = rest;
    const auto first = next_word(rest);
    const auto seq = parse_number(first);
    if (seq) text = rest;
    if (text.empty()) return usage("/edit");
    return Edit{seq, std::string(text)};
  }
  if (name == "/delete") {
    const auto first = next_word(rest);
    if (first.empty()) return Delete{};
    const auto seq = parse_number(first);
    if (!seq || !rest.empty()) return usage("/delete");
    return Delete{seq};
  }
  if (name == "/register") {
    const auto password = next_word(rest);
    if (password.empty() || !rest.empty()) return usage("/register");
    return Register{std::string(password)};
  }
  if (name == "/quit" || name == "/exit") return Quit{};
  if (name == "/help") {
    const auto topic = next_word(rest);
    return Help{topic.empty() ? std::nullopt : std::optional<std::string>(topic)};
  }
  return ParseError{"unknown command " + std::string(name) + " (try /help)"};
}

}  // namespace

std::variant<Command, ParseError> parse_command(std::string_view line) {
  if (line.size() > max_line_bytes) {
    return ParseError{"line too long: more than " + std::to_string(max_line_bytes) + " bytes"};
  }
  if (!utf8::is_valid(line)) return ParseError{"line is not valid UTF-8"};
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return Empty{};
  if (line.starts_with("//")) return Say{std::string(line.substr(1))};
  if (!line.starts_with('/')) return Say{std::string(line)};
  std::string_view rest = line;
  const std::string_view name = next_word(rest);
  return parse_slash(name, rest);
}

const std::vector<CommandInfo>& command_list() {
  static const std::vector<CommandInfo> commands = {
      {"/join", "/join ROOM", "join a room (or switch to it) and make it the current room"},
      {"/leave", "/leave [ROOM]", "leave a room (default: the current one)"},
      {"/msg", "/msg NICK TEXT", "send a direct message"},
      {"/me", "/me TEXT", "send an action to the current room"},
      {"/nick", "/nick NICK", "change your nick"},
      {"/who", "/who [ROOM]", "list the members of a room"},
      {"/rooms", "/rooms", "list rooms, with unread counts for yours"},
      {"/topic", "/topic [TEXT]", "show or set the current room's topic"},
      {"/history", "/history [N]", "show the last N messages of the current room (default 20)"},
      {"/edit", "/edit [SEQ] TEXT", "edit your message SEQ (default: your last one here)"},
      {"/delete", "/delete [SEQ]", "delete your message SEQ (default: your last one here)"},
      {"/register", "/register PASSWORD", "claim your nick with a password"},
      {"/quit", "/quit", "leave the chat"},
      {"/help", "/help", "this list"},
  };
  return commands;
}

}  // namespace chat::client::app
