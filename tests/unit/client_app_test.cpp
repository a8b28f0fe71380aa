// The terminal app's pure parts: command parsing (with bad input), completion, formatting, JSON
// lines and the command line.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <sstream>

#include "app_options.hpp"
#include "command.hpp"
#include "completion.hpp"
#include "formatter.hpp"
#include "json_lines.hpp"

using namespace chat::client::app;
namespace cmd = chat::client::app::command;

namespace {

template <class T>
T parsed_as(std::string_view line) {
  auto result = parse_command(line);
  REQUIRE_MESSAGE(std::holds_alternative<Command>(result), line);
  auto& command = std::get<Command>(result);
  REQUIRE_MESSAGE(std::holds_alternative<T>(command), line);
  return std::get<T>(command);
}

std::string error_of(std::string_view line) {
  auto result = parse_command(line);
  REQUIRE_MESSAGE(std::holds_alternative<ParseError>(result), line);
  return std::get<ParseError>(result).message;
}

}  // namespace

TEST_CASE("plain text goes to the room, // escapes a leading slash") {
  CHECK(parsed_as<cmd::Say>("hello there").text == "hello there");
  CHECK(parsed_as<cmd::Say>("//join is a command").text == "/join is a command");
  CHECK(parsed_as<cmd::Say>("héllo ✓").text == "héllo ✓");
  parsed_as<cmd::Empty>("");
  parsed_as<cmd::Empty>("   \t ");
}

TEST_CASE("every command parses with its arguments") {
  CHECK(parsed_as<cmd::Join>("/join lobby").room == "lobby");
  CHECK(parsed_as<cmd::Join>("/j  #rust").room == "#rust");
  CHECK_FALSE(parsed_as<cmd::Leave>("/leave").room);
  CHECK(parsed_as<cmd::Leave>("/leave lobby").room == "lobby");
  const auto msg = parsed_as<cmd::Msg>("/msg bob  hi there  ");
  CHECK(msg.nick == "bob");
  CHECK(msg.text == "hi there  ");
  CHECK(parsed_as<cmd::Me>("/me waves").text == "waves");
  CHECK(parsed_as<cmd::Nick>("/nick carol").nick == "carol");
  CHECK_FALSE(parsed_as<cmd::Who>("/who").room);
  CHECK(parsed_as<cmd::Who>("/who lobby").room == "lobby");
  parsed_as<cmd::Rooms>("/rooms");
  CHECK_FALSE(parsed_as<cmd::Topic>("/topic").topic);
  CHECK(parsed_as<cmd::Topic>("/topic all about C++").topic == "all about C++");
  CHECK(parsed_as<cmd::History>("/history").count == 20);
  CHECK(parsed_as<cmd::History>("/history 5").count == 5);
  const auto edit = parsed_as<cmd::Edit>("/edit 12 fixed text");
  CHECK(edit.seq == 12u);
  CHECK(edit.text == "fixed text");
  const auto edit_last = parsed_as<cmd::Edit>("/edit fixed text");
  CHECK_FALSE(edit_last.seq);
  CHECK(edit_last.text == "fixed text");
  CHECK(parsed_as<cmd::Delete>("/delete 3").seq == 3u);
  CHECK_FALSE(parsed_as<cmd::Delete>("/delete").seq);
  CHECK(parsed_as<cmd::Register>("/register s3cret").password == "s3cret");
  parsed_as<cmd::Quit>("/quit");
  parsed_as<cmd::Help>("/help");
}

TEST_CASE("wrong commands get a one-line error naming the problem") {
  CHECK(error_of("/bogus") == "unknown command /bogus (try /help)");
  CHECK(error_of("/join") == "usage: /join ROOM");
  CHECK(error_of("/join a b") == "usage: /join ROOM");
  CHECK(error_of("/msg bob") == "usage: /msg NICK TEXT");
  CHECK(error_of("/msg") == "usage: /msg NICK TEXT");
  CHECK(error_of("/me") == "usage: /me TEXT");
  CHECK(error_of("/nick") == "usage: /nick NICK");
  CHECK(error_of("/history zero") == "usage: /history [N]");
  CHECK(error_of("/history 0") == "usage: /history [N]");
  CHECK(error_of("/history 99999999999999999999999") == "usage: /history [N]");
  CHECK(error_of("/history -3") == "usage: /history [N]");
  CHECK(error_of("/edit") == "usage: /edit [SEQ] TEXT");
  CHECK(error_of("/edit 12") == "usage: /edit [SEQ] TEXT");
  CHECK(error_of("/delete x") == "usage: /delete [SEQ]");
  CHECK(error_of("/register") == "usage: /register PASSWORD");
  CHECK(error_of("/rooms extra") == "usage: /rooms");
}

TEST_CASE("over-long, truncated UTF-8 and invalid UTF-8 lines are refused") {
  CHECK(error_of(std::string(max_line_bytes + 1, 'a')) == "line too long: more than 8192 bytes");
  CHECK(std::holds_alternative<Command>(parse_command(std::string(max_line_bytes, 'a'))));
  CHECK(error_of("caf\xc3") == "line is not valid UTF-8");  // cut inside a character
  CHECK(error_of("\xff\xfe") == "line is not valid UTF-8");
  CHECK(error_of("/join \xc0\xaf") == "line is not valid UTF-8");  // overlong '/'
}

TEST_CASE("a carriage return at the end of a piped line is dropped") {
  CHECK(parsed_as<cmd::Say>("hello\r").text == "hello");
  CHECK(parsed_as<cmd::Join>("/join lobby\r").room == "lobby");
}

TEST_CASE("tab completes commands, rooms after /join and nicks elsewhere") {
  const std::set<std::string> nicks{"alice", "Albert", "bob"};
  const std::set<std::string> rooms{"lobby", "linux", "rust"};
  CHECK(complete_word("/jo", 0, "/jo", nicks, rooms) == std::vector<std::string>{"/join"});
  CHECK(complete_word("/", 0, "/", nicks, rooms).size() == command_list().size());
  CHECK(complete_word("/join l", 6, "l", nicks, rooms) ==
        std::vector<std::string>{"linux", "lobby"});
  CHECK(complete_word("/who r", 5, "r", nicks, rooms) == std::vector<std::string>{"rust"});
  CHECK(complete_word("/msg al", 5, "al", nicks, rooms) ==
        std::vector<std::string>{"Albert", "alice"});
  CHECK(complete_word("hi AL", 3, "AL", nicks, rooms) ==
        std::vector<std::string>{"Albert", "alice"});
  CHECK(complete_word("/msg bob l", 9, "l", nicks, rooms).empty());  // text, not a room
  CHECK(complete_word("x", 0, "x", nicks, rooms).empty());
}

TEST_CASE("formatted lines: timestamp, nick, room prefix, colours only when asked") {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  chat::v1::RoomMessage message;
  message.set_room("lobby");
  message.set_from("alice");
  message.set_text("hi");
  message.set_server_time_ms(1'700'000'000'000);  // 2023-11-14 22:13:20 UTC
  Formatter plain(false);
  CHECK(plain.message(message, false) == "22:13 <alice> hi");
  CHECK(plain.message(message, true) == "22:13 [lobby] <alice> hi");
  message.set_action(true);
  CHECK(plain.message(message, false) == "22:13 * alice hi");
  message.set_action(false);
  message.set_edited(true);
  CHECK(plain.message(message, false) == "22:13 <alice> hi (edited)");
  CHECK(plain.error("boom") == "!! boom");
  CHECK(plain.info("bob joined") == "-- bob joined");

  Formatter colored(true);
  const std::string line = colored.message(message, false);
  CHECK(line.find("\033[" + std::to_string(nick_color("alice")) + "malice\033[0m") !=
        std::string::npos);
  CHECK(colored.error("boom") == "\033[31m!! boom\033[0m");
}

TEST_CASE("a nick keeps its colour, whatever its case") {
  CHECK(nick_color("alice") == nick_color("alice"));
  CHECK(nick_color("Alice") == nick_color("ALICE"));
  std::set<int> colours;
  for (const char* nick : {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}) {
    colours.insert(nick_color(nick));
  }
  CHECK(colours.size() >= 4);
}

TEST_CASE("connection states read as a person expects") {
  using chat::client::ConnectionEvent;
  using chat::client::ConnectionState;
  Formatter plain(false);
  CHECK(plain.connection({ConnectionState::reconnecting, "the server closed the connection",
                          std::chrono::milliseconds(2000), 1}) ==
        "!! the server closed the connection; reconnecting in 2s");
  CHECK(plain.connection({ConnectionState::connecting, "127.0.0.1:7777", {}, 1}) ==
        "-- connecting to 127.0.0.1:7777");
  CHECK(plain.resumed({"lobby", 14}) == "-- resumed lobby: 14 missed messages");
  CHECK(plain.resumed({"lobby", 1}) == "-- resumed lobby: 1 missed message");
}

TEST_CASE("JSON lines escape what JSON requires and name each event") {
  CHECK(json_string("a\"b\\c\nd\te\x01") == "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
  CHECK(json_string("héllo") == "\"héllo\"");
  chat::v1::ServerFrame frame;
  frame.mutable_member_joined()->set_room("lobby");
  frame.mutable_member_joined()->set_nick("bob");
  CHECK(
      json_client_event(frame) ==
      R"({"event":"member_joined","data":{"room":"lobby","nick":"bob","account":false,"real_name":""}})");
  CHECK(json_client_event(chat::client::ResumedEvent{"lobby", 3}) ==
        R"({"event":"resumed","room":"lobby","missed":3})");
  CHECK(json_text("error", "message", "no \"room\"") ==
        R"({"event":"error","message":"no \"room\""})");
}

namespace {

struct Parsed {
  std::variant<AppOptions, int> result;
  std::string out;
  std::string err;
};

Parsed parse(std::vector<const char*> args, bool stdin_tty = true, bool stdout_tty = true,
             bool no_color = false) {
  args.insert(args.begin(), "chat-client");
  std::ostringstream out;
  std::ostringstream err;
  auto result = parse_app_options(static_cast<int>(args.size()), args.data(), out, err, stdin_tty,
                                  stdout_tty, no_color);
  return {std::move(result), out.str(), err.str()};
}

}  // namespace

TEST_CASE("chat-client's command line: defaults and every flag") {
  auto parsed = parse({"--nick", "alice"});
  REQUIRE(std::holds_alternative<AppOptions>(parsed.result));
  auto options = std::get<AppOptions>(parsed.result);
  CHECK(options.host == "127.0.0.1");
  CHECK(options.port == 7777);
  CHECK_FALSE(options.script);
  CHECK(options.color);
  parsed = parse({"--nick", "bob", "--server", "[::1]:9000", "--room", "lobby", "--script"});
  options = std::get<AppOptions>(parsed.result);
  CHECK(options.host == "::1");
  CHECK(options.port == 9000);
  CHECK(options.room == "lobby");
  CHECK(options.script);
  CHECK_FALSE(options.color);
}

TEST_CASE("colours are off with --no-color, NO_COLOR, or stdout not a terminal") {
  CHECK_FALSE(std::get<AppOptions>(parse({"--nick", "a", "--no-color"}).result).color);
  CHECK_FALSE(std::get<AppOptions>(parse({"--nick", "a"}, true, true, true).result).color);
  CHECK_FALSE(std::get<AppOptions>(parse({"--nick", "a"}, true, false).result).color);
  CHECK(std::get<AppOptions>(parse({"--nick", "a"}, false).result).script);  // piped stdin
}

TEST_CASE("bad flags exit 2 with one line naming the flag") {
  const std::vector<std::vector<const char*>> bad = {{"--nick", "9lives"},
                                                     {"--nick", ""},
                                                     {"--nick", "a b"},
                                                     {"--nick", "a", "--server", "nohost"},
                                                     {"--nick", "a", "--server", "h:99999"},
                                                     {"--nick", "a", "--server", "h:0"},
                                                     {"--nick", "a", "--room", "bad room"},
                                                     {"--nick", "a", "--bogus"},
                                                     {"--nick"}};
  for (const auto& args : bad) {
    const auto parsed = parse(args);
    REQUIRE(std::holds_alternative<int>(parsed.result));
    CHECK(std::get<int>(parsed.result) == 2);
    CHECK(parsed.err.starts_with("chat-client: "));
    CHECK(std::count(parsed.err.begin(), parsed.err.end(), '\n') == 1);
  }
  CHECK(std::get<int>(parse({"--help"}).result) == 0);
  CHECK(parse({"--help"}).out.find("--server") != std::string::npos);
}
