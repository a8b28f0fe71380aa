// Accounts: registering a nick, logging in with its password, failed-login limits, servers that
// admit registered nicks only, and read markers kept per account.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>

#include "store_support.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TempDir;
using chat::test::TestClient;
using chat::test::TestServer;
using test::ask;
using test::error_code;
using test::hello;
using test::make_request;
using test::set_nick;

namespace {

v1::ServerFrame register_nick(TestClient& client, const std::string& password) {
  return ask(client, make_request([&](v1::ClientFrame& f) {
               f.mutable_register_()->set_password(password);
             }));
}

v1::ServerFrame mark_read(TestClient& client, const std::string& room, std::uint64_t seq) {
  return ask(client, make_request([&](v1::ClientFrame& f) {
               f.mutable_mark_read()->set_room(room);
               f.mutable_mark_read()->set_seq(seq);
             }));
}

struct Login {
  TestClient client;
  v1::Welcome welcome;
};

// A new connection that logs in with a password.
Login login(std::uint16_t port, const std::string& nick, const std::string& password) {
  TestClient client(port);
  const auto reply = hello(client, nick, password);
  REQUIRE_MESSAGE(reply.has_welcome(), reply.ShortDebugString());
  return {std::move(client), reply.welcome()};
}

// Registers `nick` from a guest session, which then renames itself so the nick is free for logins.
void create_account(std::uint16_t port, const std::string& nick, const std::string& password) {
  auto owner = TestClient::connect_as(port, nick);
  REQUIRE(register_nick(owner, password).has_ok());
  REQUIRE(set_nick(owner, nick + "-away").has_ok());
}

std::map<std::string, std::uint64_t> markers_of(const v1::Welcome& welcome) {
  std::map<std::string, std::uint64_t> markers;
  for (const auto& marker : welcome.read_markers()) markers[marker.room()] = marker.seq();
  return markers;
}

using Markers = std::map<std::string, std::uint64_t>;

}  // namespace

TEST_CASE("a registered nick needs its password, and Hello may be retried on the connection") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");  // guests are allowed
  CHECK(error_code(register_nick(alice, "short")) == v1::Error::BAD_REQUEST);
  CHECK(error_code(register_nick(alice, std::string(1025, 'p'))) == v1::Error::BAD_REQUEST);
  CHECK(register_nick(alice, "correct horse").has_ok());
  CHECK(error_code(register_nick(alice, "another one")) == v1::Error::NICK_IN_USE);
  REQUIRE(set_nick(alice, "alice-away").has_ok());  // "alice" is free but registered

  TestClient again(server.port());
  CHECK(error_code(hello(again, "alice")) == v1::Error::AUTH_FAILED);
  CHECK_FALSE(again.closed());
  CHECK(error_code(hello(again, "alice", "wrong horse")) == v1::Error::AUTH_FAILED);
  CHECK_FALSE(again.closed());
  const auto welcome = hello(again, "alice", "correct horse");
  REQUIRE(welcome.has_welcome());
  CHECK(welcome.welcome().nick() == "alice");
  CHECK(again.join("#in").has_join_reply());
  CHECK(again.say("#in", "it is me").has_ack());

  // Nobody else may take a registered nick by renaming to it, whatever its case: NICK_IN_USE, as
  // chat.proto names it for "registered by another account", and bob keeps his nick.
  REQUIRE(set_nick(again, "alice-again").has_ok());
  auto bob = TestClient::connect_as(server.port(), "bob");
  const auto taken = error_code(set_nick(bob, "ALICE"));
  CHECK(taken == v1::Error::NICK_IN_USE);
  CHECK(set_nick(bob, "bobby").has_ok());  // still bob's to change
  TestClient other(server.port());
  CHECK(error_code(hello(other, "Alice")) == v1::Error::AUTH_FAILED);
  CHECK(hello(other, "Alice", "correct horse").has_welcome());
}

TEST_CASE("after failed_login_burst wrong passwords the next Hello is rate limited") {
  auto config = test::test_config();
  config.failed_login_burst = 3;
  config.failed_login_refill_s = 60;
  TestServer server(config);
  create_account(server.port(), "dave", "dave-secret");

  TestClient guesser(server.port());
  for (int i = 1; i <= 3; ++i) {
    const auto reply = hello(guesser, "dave", "guess-" + std::to_string(i));
    CHECK(error_code(reply) == v1::Error::AUTH_FAILED);
  }
  const auto limited = hello(guesser, "dave", "guess-4");
  REQUIRE(error_code(limited) == v1::Error::RATE_LIMITED);
  CHECK(limited.error().retry_after_ms() > 0);
  // While limited even the right password is refused: otherwise the answer would tell a guesser
  // that it found the password.
  CHECK(error_code(hello(guesser, "dave", "dave-secret")) == v1::Error::RATE_LIMITED);
  CHECK_FALSE(guesser.closed());
}

TEST_CASE("with guests denied a nick needs a password, and the first Hello with one registers it") {
  auto config = test::test_config();
  config.guests = "deny";
  TestServer server(config);
  {
    TestClient frank(server.port());
    CHECK(error_code(hello(frank, "frank")) == v1::Error::AUTH_FAILED);
    CHECK_FALSE(frank.closed());
    const auto welcome = hello(frank, "frank", "frank-pass");
    REQUIRE(welcome.has_welcome());
    CHECK(welcome.welcome().nick() == "frank");
    CHECK(frank.join("#members").has_join_reply());
  }
  TestClient gina(server.port());
  const auto too_short = hello(gina, "gina", "abc");  // would register with a bad password
  CHECK(too_short.has_error());
  CHECK_FALSE(too_short.has_welcome());
  CHECK(error_code(hello(gina, "gina")) == v1::Error::AUTH_FAILED);

  // frank is registered now: once the server let go of his first session, a wrong password or none
  // is refused and his password lets him in again.
  v1::ServerFrame wrong;
  CHECK(test::eventually([&] {
    wrong = hello(gina, "frank", "not-franks");
    return error_code(wrong) != v1::Error::NICK_IN_USE;
  }));
  CHECK(error_code(wrong) == v1::Error::AUTH_FAILED);
  CHECK(error_code(hello(gina, "frank")) == v1::Error::AUTH_FAILED);
  CHECK(hello(gina, "frank", "frank-pass").has_welcome());
  CHECK(gina.join("#members").has_join_reply());
}

TEST_CASE("read markers: registered nicks only, the highest kept, clamped, sent in Welcome") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#news");
  test::say_n(alice, "#news", 5);
  CHECK(error_code(mark_read(alice, "#news", 3)) == v1::Error::FORBIDDEN);  // a guest

  create_account(server.port(), "carol", "carol-pass");
  {
    auto carol = login(server.port(), "carol", "carol-pass");
    CHECK(carol.welcome.read_markers().empty());
    CHECK(error_code(mark_read(carol.client, "#news", 3)) == v1::Error::NOT_IN_ROOM);
    REQUIRE(carol.client.join("#news").has_join_reply());
    CHECK(mark_read(carol.client, "#news", 3).has_ok());
    CHECK(mark_read(carol.client, "#news", 2).has_ok());  // lower: the highest is kept
    REQUIRE(set_nick(carol.client, "carol-1").has_ok());
  }
  {
    auto carol = login(server.port(), "carol", "carol-pass");
    CHECK(markers_of(carol.welcome) == Markers{{"#news", 3}});
    REQUIRE(carol.client.join("#news").has_join_reply());
    CHECK(mark_read(carol.client, "#news", 1000).has_ok());  // clamped to last_seq
    REQUIRE(set_nick(carol.client, "carol-2").has_ok());
  }
  auto carol = login(server.port(), "carol", "carol-pass");
  CHECK(markers_of(carol.welcome) == Markers{{"#news", 5}});
}

TEST_CASE("accounts and read markers survive a restart on the same data directory") {
  TempDir dir;
  const auto config = test::sqlite_config(dir);
  std::optional<TestServer> server(std::in_place, config);
  create_account(server->port(), "erin", "erin-pass");
  {
    auto erin = login(server->port(), "erin", "erin-pass");
    REQUIRE(erin.client.join("#kept").has_join_reply());
    test::say_n(erin.client, "#kept", 4);
    CHECK(mark_read(erin.client, "#kept", 2).has_ok());
  }
  server.reset();
  server.emplace(config);

  TestClient erin(server->port());
  CHECK(error_code(hello(erin, "erin")) == v1::Error::AUTH_FAILED);
  CHECK(error_code(hello(erin, "erin", "wrong-pass")) == v1::Error::AUTH_FAILED);
  const auto welcome = hello(erin, "erin", "erin-pass");
  REQUIRE(welcome.has_welcome());
  CHECK(markers_of(welcome.welcome()) == Markers{{"#kept", 2}});
}
