#pragma once
// A line the user typed (or piped), parsed into a command. Pure logic: no I/O, no client.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chat::client::app {

inline constexpr std::size_t max_line_bytes = 8 * 1024;

namespace command {
struct Say {
  std::string text;
};  // plain text: to the current room
struct Me {
  std::string text;
};  // /me waves
struct Join {
  std::string room;
};
struct Leave {
  std::optional<std::string> room;
};
struct Msg {
  std::string nick;
  std::string text;
};
struct Nick {
  std::string nick;
};
struct Who {
  std::optional<std::string> room;
};
struct Rooms {};
struct Topic {
  std::optional<std::string> topic;
};  // none: show it
struct History {
  std::uint32_t count = 20;
};
struct Edit {
  std::optional<std::uint64_t> seq;
  std::string text;
};  // no seq: my last message
struct Delete {
  std::optional<std::uint64_t> seq;
};
struct Register {
  std::string password;
};
struct Quit {};
struct Help {
  std::optional<std::string> topic;
};
struct Empty {};  // a blank line: nothing to do
}  // namespace command

using Command = std::variant<command::Say, command::Me, command::Join, command::Leave, command::Msg,
                             command::Nick, command::Who, command::Rooms, command::Topic,
                             command::History, command::Edit, command::Delete, command::Register,
                             command::Quit, command::Help, command::Empty>;

struct ParseError {
  std::string message;  // one line, for the user
};

// Parses one line (without its newline). "//text" sends "/text".
std::variant<Command, ParseError> parse_command(std::string_view line);

struct CommandInfo {
  std::string_view name;  // with its slash
  std::string_view usage;
  std::string_view help;
};
// Every command, in the order /help lists them.
const std::vector<CommandInfo>& command_list();

}  // namespace chat::client::app
