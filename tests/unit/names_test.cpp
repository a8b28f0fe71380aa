#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "names.hpp"
#include "utf8.hpp"

using chat::NameProblem;

TEST_CASE("good nicks") {
  for (const char* nick : {"alice", "Bob_2", "x", "[away]bob", "zoë", "名前", "a-b.c|d^e`f{g}"}) {
    CAPTURE(nick);
    CHECK(chat::check_nick(nick) == NameProblem::ok);
  }
  CHECK(chat::check_nick(std::string(32, 'a')) == NameProblem::ok);
}

TEST_CASE("bad nicks say what is wrong") {
  CHECK(chat::check_nick("") == NameProblem::empty);
  CHECK(chat::check_nick(std::string(33, 'a')) == NameProblem::too_long);
  CHECK(chat::check_nick(std::string(65, 'a')) == NameProblem::too_long);
  CHECK(chat::check_nick("with space") == NameProblem::bad_character);
  CHECK(chat::check_nick("tab\there") == NameProblem::bad_character);
  CHECK(chat::check_nick("nul\0byte") == NameProblem::ok);  // the C string ends at the NUL
  CHECK(chat::check_nick(std::string("nul\0byte", 8)) == NameProblem::bad_character);
  CHECK(chat::check_nick("1abc") == NameProblem::bad_first_character);
  CHECK(chat::check_nick("-abc") == NameProblem::bad_first_character);
  CHECK(chat::check_nick("#room") == NameProblem::bad_character);
  CHECK(chat::check_nick("zero\u200bwidth") == NameProblem::bad_character);
  CHECK(chat::check_nick("bidi\u202eevil") == NameProblem::bad_character);
  CHECK(chat::check_nick("nbsp\u00a0x") == NameProblem::bad_character);
}

TEST_CASE("invalid UTF-8 in names and text") {
  for (const char* bad : {"\xc3", "\xc3\x28", "\xe2\x82", "\xf0\x9f\x98", "\xc0\xaf",
                          "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\x80"}) {
    CAPTURE(bad);
    CHECK(chat::check_nick(std::string("a") + bad) == NameProblem::invalid_utf8);
    CHECK(chat::check_text(std::string("a") + bad, 100) == NameProblem::invalid_utf8);
    CHECK_FALSE(chat::utf8::is_valid(bad));
  }
  CHECK(chat::utf8::is_valid("plain ascii, ü, 😀"));
}

TEST_CASE("rooms allow a leading hash and digits") {
  CHECK(chat::check_room("#lobby") == NameProblem::ok);
  CHECK(chat::check_room("lobby") == NameProblem::ok);
  CHECK(chat::check_room("2024-plans") == NameProblem::ok);
  CHECK(chat::check_room("#") == NameProblem::empty);
  CHECK(chat::check_room("##") == NameProblem::bad_character);
  CHECK(chat::check_room("a b") == NameProblem::bad_character);
  CHECK(chat::check_room("#" + std::string(32, 'r')) == NameProblem::ok);
  CHECK(chat::check_room("#" + std::string(33, 'r')) == NameProblem::too_long);
}

TEST_CASE("a room may not start with a closing brace, which would empty its Redis hash tag") {
  CHECK(chat::check_room("}x") == NameProblem::bad_first_character);
  CHECK(chat::check_room("#}x") == NameProblem::bad_first_character);
  CHECK(chat::check_room("x}y") == NameProblem::ok);
  CHECK(chat::check_room("{x}") == NameProblem::ok);
  CHECK(chat::check_nick("}x") == NameProblem::ok);
}

TEST_CASE("message text") {
  CHECK(chat::check_text("hello\nworld\twith tab", 100) == NameProblem::ok);
  CHECK(chat::check_text("", 100) == NameProblem::empty);
  CHECK(chat::check_text(std::string(101, 'x'), 100) == NameProblem::too_long);
  CHECK(chat::check_text(std::string(100, 'x'), 100) == NameProblem::ok);
  CHECK(chat::check_text("escape \x1b[31m red", 100) == NameProblem::bad_character);
  CHECK(chat::check_text("c1 \xc2\x9b control", 100) == NameProblem::bad_character);
}

TEST_CASE("names are unique without regard to ASCII case") {
  CHECK(chat::name_key("Alice") == chat::name_key("aLICE"));
  CHECK(chat::name_key("#Lobby") == "#lobby");
  CHECK(chat::name_key("ZOË") != chat::name_key("zoë"));  // only ASCII is folded
  CHECK(std::string(chat::describe(NameProblem::too_long)) == "is too long");
}

TEST_CASE("name_key_less orders as the keys do, without building them") {
  const std::vector<std::string> names = {"alice", "Bob", "bob2", "ZOË", "zoë",
                                          "_x",    "Zed", "",     "a"};
  for (const auto& a : names) {
    for (const auto& b : names) {
      CAPTURE(a);
      CAPTURE(b);
      CHECK(chat::name_key_less(a, b) == (chat::name_key(a) < chat::name_key(b)));
    }
  }
}
