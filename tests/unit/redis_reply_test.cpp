// Redis's wire protocol without sockets: commands as RESP arrays, replies whole, split anywhere,
// truncated, or not RESP at all.
#include <doctest/doctest.h>

#include <string>

#include "redis_reply.hpp"

using chat::server::redis::encode_command;
using chat::server::redis::Reply;
using chat::server::redis::ReplyReader;

TEST_CASE("Commands are RESP arrays of bulk strings, binary-safe") {
  CHECK(encode_command({"GET", "k"}) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  CHECK(encode_command({"SET", "k", std::string("a\0\r\n", 4)}) ==
        std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\0\r\n\r\n", 30));
  CHECK(encode_command({"X", ""}) == "*2\r\n$1\r\nX\r\n$0\r\n\r\n");
}

TEST_CASE("CommandEncoder builds the same command argument by argument") {
  chat::server::redis::CommandEncoder encoder;
  encoder.arg("SET").arg("chat:r:{lobby}", ":seq").arg(std::string("a\0b", 3));
  CHECK(std::move(encoder).finish() ==
        encode_command({"SET", "chat:r:{lobby}:seq", std::string("a\0b", 3)}));
  CHECK(chat::server::redis::CommandEncoder().finish() == "*0\r\n");
}

TEST_CASE("Replies of every type, fed whole or byte by byte") {
  const std::string stream =
      "+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*3\r\n:1\r\n$1\r\nx\r\n*0\r\n";
  for (const bool bytewise : {false, true}) {
    CAPTURE(bytewise);
    ReplyReader reader;
    std::vector<Reply> replies;
    auto take = [&] {
      while (auto reply = reader.next()) replies.push_back(std::move(*reply));
    };
    if (bytewise) {
      for (char c : stream) {
        REQUIRE(reader.feed(std::string(1, c)));
        take();
      }
    } else {
      REQUIRE(reader.feed(stream));
      take();
    }
    REQUIRE(replies.size() == 6);
    CHECK(replies[0].type == Reply::Type::status);
    CHECK(replies[0].text == "OK");
    CHECK(replies[1].is_error());
    CHECK(replies[1].describe() == "error ERR wrong");
    CHECK(replies[2].integer == 42);
    CHECK(replies[3].text == "he\r\no");
    CHECK(replies[4].is_nil());
    REQUIRE(replies[5].elements.size() == 3);
    CHECK(replies[5].elements[1].text == "x");
    CHECK(replies[5].elements[2].elements.empty());
    CHECK_FALSE(reader.failed());
  }
}

TEST_CASE("A truncated reply waits for the rest, bytes that are not RESP fail the reader") {
  ReplyReader reader;
  REQUIRE(reader.feed("$10\r\nabc"));
  CHECK_FALSE(reader.next().has_value());
  CHECK_FALSE(reader.failed());
  REQUIRE(reader.feed("defghij\r\n"));
  const auto reply = reader.next();
  REQUIRE(reply.has_value());
  CHECK(reply->text == "abcdefghij");

  ReplyReader garbage;
  garbage.feed("HTTP/1.1 200 OK\r\n");
  CHECK_FALSE(garbage.next().has_value());
  CHECK(garbage.failed());
  CHECK_FALSE(garbage.error().empty());
  CHECK_FALSE(garbage.feed("+OK\r\n"));
}
