// Hostile and broken clients, each on its own connection, while a healthy pair keeps chatting.
#include <doctest/doctest.h>

#include <string>

#include "support/varint.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TestClient;
using chat::test::TestServer;

namespace {

using chat::test::varint;

// Alice and bob chat in a room; check() proves a message still goes through both ways.
struct HealthyPair {
  explicit HealthyPair(std::uint16_t port)
      : alice(TestClient::connect_as(port, "alice")), bob(TestClient::connect_as(port, "bob")) {
    alice.join("#ok");
    bob.join("#ok");
  }
  void check() {
    const auto ack = alice.say("#ok", "still fine " + std::to_string(++count));
    REQUIRE(ack.has_ack());
    const auto got = bob.wait_for([&](const auto& f) {
      return f.has_room_message() && f.room_message().seq() == ack.ack().seq();
    });
    REQUIRE(got);
  }
  TestClient alice;
  TestClient bob;
  int count = 0;
};

server::ServerConfig short_timeouts() {
  auto config = test::test_config();
  config.handshake_timeout_ms = 300;
  config.close_timeout_ms = 300;
  return config;
}

void expect_disconnect(TestClient& client, v1::Disconnect::Reason reason) {
  const auto disconnect = client.wait_closed();
  CHECK(client.closed());
  REQUIRE(disconnect);
  CHECK(disconnect->reason() == reason);
  CHECK_FALSE(disconnect->message().empty());
}

}  // namespace

TEST_CASE("bad input ends only the bad connection, with a reason") {
  TestServer server(short_timeouts());
  HealthyPair healthy(server.port());

  SUBCASE("garbage bytes") {
    TestClient bad(server.port());
    bad.write_raw("\xff\xff\xff\xff\xff\xff\xff garbage");
    expect_disconnect(bad, v1::Disconnect::PROTOCOL_ERROR);
  }
  SUBCASE("an oversized length prefix") {
    TestClient bad(server.port());
    bad.write_raw(varint(100 * 1024 * 1024));
    const auto disconnect = bad.wait_closed();
    REQUIRE(disconnect);
    CHECK(disconnect->reason() == v1::Disconnect::PROTOCOL_ERROR);
    CHECK(disconnect->message().find("maximum frame size") != std::string::npos);
  }
  SUBCASE("a frame that does not parse") {
    TestClient bad(server.port());
    bad.write_raw(varint(3) + "\x0f\xff\xff");
    expect_disconnect(bad, v1::Disconnect::PROTOCOL_ERROR);
  }
  SUBCASE("a truncated frame, then close") {
    TestClient bad(server.port());
    const std::string hello = encode_frame(test::hello_frame("truncated"))->bytes;
    bad.write_raw(hello.substr(0, hello.size() / 2));
    bad.shutdown_write();
    CHECK_FALSE(bad.next(std::chrono::seconds(5)));
    CHECK(bad.closed());
  }
  SUBCASE("a request before Hello") {
    TestClient bad(server.port());
    v1::ClientFrame join;
    join.mutable_join()->set_room("#ok");
    bad.send(join);
    expect_disconnect(bad, v1::Disconnect::PROTOCOL_ERROR);
  }
  SUBCASE("a wrong protocol version") {
    TestClient bad(server.port());
    auto hello = test::hello_frame("future");
    hello.mutable_hello()->set_protocol_version(99);
    bad.send(hello);
    expect_disconnect(bad, v1::Disconnect::HANDSHAKE_FAILED);
  }
  SUBCASE("an unknown oneof case is refused, the connection stays") {
    auto client = TestClient::connect_as(server.port(), "newer");
    // request_id 9, then field 99 (unknown to v1) as a length-delimited field.
    const std::string body = std::string("\x08\x09", 2) + "\x9a\x06\x03" + "abc";
    client.write_raw(varint(body.size()) + body);
    const auto reply = client.reply_to(9);
    REQUIRE(reply);
    CHECK(reply->error().code() == v1::Error::UNSUPPORTED);
    v1::ClientFrame ping;
    ping.mutable_ping()->set_nonce(42);
    const auto pong = client.reply_to(client.send(ping));
    REQUIRE(pong);
    CHECK(pong->pong().nonce() == 42);
  }
  SUBCASE("invalid nicks, real names and room names") {
    TestClient bad(server.port());
    for (const std::string& nick : std::vector<std::string>{"", "has space", std::string(40, 'n'),
                                                            "9lives", "zero\u200bwidth"}) {
      const auto reply = bad.reply_to(bad.send(test::hello_frame(nick)));
      REQUIRE(reply);
      CHECK(reply->error().code() == v1::Error::INVALID_NAME);
    }
    // (Not UTF-8 at all is INVALID_TEXT, as for any string that is not a nick or room name.)
    for (const auto& [real_name, code] : std::vector<std::pair<std::string, v1::Error::Code>>{
             {std::string(129, 'r'), v1::Error::INVALID_NAME},
             {"bell\a", v1::Error::INVALID_NAME},
             {"two\nlines", v1::Error::INVALID_NAME},
             {"bad\xff", v1::Error::INVALID_TEXT}}) {
      auto frame = test::hello_frame("realname");
      frame.mutable_hello()->set_real_name(real_name);
      const auto reply = bad.reply_to(bad.send(frame));
      REQUIRE(reply);
      CHECK(reply->error().code() == code);
    }
    auto client = TestClient::connect_as(server.port(), "valid");
    for (const std::string& room :
         std::vector<std::string>{"", "a b", "#", "a\u202eb", std::string(70, 'r')}) {
      CHECK(client.join(room).error().code() == v1::Error::INVALID_NAME);
    }
    CHECK(client.say("#ok", "").error().code() != v1::Error::CODE_UNSPECIFIED);
  }
  SUBCASE("oversized and invalid text") {
    auto client = TestClient::connect_as(server.port(), "writer");
    client.join("#ok");
    CHECK(client.say("#ok", std::string(4097, 'x')).error().code() == v1::Error::TEXT_TOO_LONG);
    CHECK(client.say("#ok", "escape \x1b[2J").error().code() == v1::Error::INVALID_TEXT);
    CHECK(client.say("#ok", std::string(4096, 'x')).has_ack());
  }
  SUBCASE("invalid UTF-8 in a string field fails that request only") {
    // proto3 parsers refuse such a frame whole; the server finds the field and answers it.
    auto client = TestClient::connect_as(server.port(), "sloppy");
    client.join("#ok");
    v1::ClientFrame send;
    send.set_request_id(77);
    send.mutable_send()->set_room("#ok");
    send.mutable_send()->set_text("bad \xc3\x28 utf8");
    std::string body;
    send.SerializePartialToString(&body);  // serializing does not validate; parsing does
    client.write_raw(varint(body.size()) + body);
    const auto refused = client.reply_to(77);
    REQUIRE(refused);
    CHECK(refused->error().code() == v1::Error::INVALID_TEXT);
    CHECK(client.say("#ok", "good utf8").has_ack());
  }
  SUBCASE("a client that connects and sends nothing") {
    TestClient silent(server.port());
    expect_disconnect(silent, v1::Disconnect::HANDSHAKE_TIMEOUT);
  }
  SUBCASE("half an HTTP request") {
    TestClient bad(server.port());
    bad.write_raw(
        "GET / HTTP/1.1\r\n\r\n");  // 'G' reads as a 71-byte length: waits, then times out
    expect_disconnect(bad, v1::Disconnect::HANDSHAKE_TIMEOUT);
  }
  healthy.check();
  healthy.check();
}

TEST_CASE("a flood above the rate limit is refused, then disconnected") {
  auto config = test::test_config();
  config.messages_per_second = 5;
  config.message_burst = 10;
  config.rate_limit_strikes = 20;
  TestServer server(config);
  auto flooder = TestClient::connect_as(server.port(), "flooder");
  auto victim = TestClient::connect_as(server.port(), "victim");
  flooder.join("#r");
  victim.join("#r");
  for (int i = 0; i < 200; ++i) {
    v1::ClientFrame frame;
    frame.mutable_send()->set_room("#r");
    frame.mutable_send()->set_text("spam");
    flooder.send(frame);
  }
  const auto limited = flooder.wait_for([](const auto& f) { return f.has_error(); });
  REQUIRE(limited);
  CHECK(limited->error().code() == v1::Error::RATE_LIMITED);
  CHECK(limited->error().retry_after_ms() > 0);
  expect_disconnect(flooder, v1::Disconnect::RATE_LIMITED);
  CHECK(server.stats().disconnects_for(v1::Disconnect::RATE_LIMITED) == 1);
  // The victim got the messages that were allowed, then nothing more from the flooder.
  CHECK(victim.say("#r", "quiet now").has_ack());
}

TEST_CASE("too many connections from one address are refused with a reason") {
  auto config = test::test_config();
  config.max_connections_per_address = 3;
  TestServer server(config);
  std::vector<TestClient> clients;
  for (int i = 0; i < 3; ++i)
    clients.push_back(TestClient::connect_as(server.port(), "c" + std::to_string(i)));
  TestClient extra(server.port());
  expect_disconnect(extra, v1::Disconnect::TOO_MANY_CONNECTIONS);
  clients.pop_back();
  CHECK(test::eventually([&] {
    try {
      auto again = TestClient::connect_as(server.port(), "c9");
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }));
}
