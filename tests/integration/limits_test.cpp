// The configurable limits, each answered by a clear Error or Disconnect reason.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "server_process.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TestClient;
using chat::test::TestServer;

TEST_CASE("max rooms per session and max members per room") {
  auto config = test::test_config();
  config.max_rooms_per_session = 2;
  config.max_members_per_room = 2;
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  CHECK(alice.join("#a").has_join_reply());
  CHECK(alice.join("#b").has_join_reply());
  CHECK(alice.join("#c").error().code() == v1::Error::TOO_MANY_ROOMS);
  CHECK(alice.join("#a").has_join_reply());  // re-joining a room one is in does not count twice

  auto bob = TestClient::connect_as(server.port(), "bob");
  auto carol = TestClient::connect_as(server.port(), "carol");
  CHECK(bob.join("#a").has_join_reply());
  CHECK(carol.join("#a").error().code() == v1::Error::ROOM_FULL);
  CHECK(carol.join("#d").has_join_reply());  // the refusal left carol's session usable
}

TEST_CASE("max connections in total") {
  auto config = test::test_config();
  config.max_connections = 2;
  TestServer server(config);
  auto a = TestClient::connect_as(server.port(), "a");
  auto b = TestClient::connect_as(server.port(), "b");
  TestClient c(server.port());
  const auto disconnect = c.wait_closed();
  REQUIRE(disconnect);
  CHECK(disconnect->reason() == v1::Disconnect::TOO_MANY_CONNECTIONS);
  CHECK(disconnect->retry_after_ms() > 0);
}

TEST_CASE(
    "above the memory budget new connections are refused as OVERLOADED with a jittered retry") {
  auto config = test::test_config();
  config.memory_budget_mb = 1;  // any process is larger: every new connection is over budget
  TestServer server(config);
  std::vector<std::uint32_t> retries;
  for (int i = 0; i < 3; ++i) {
    TestClient client(server.port());
    const auto disconnect = client.wait_closed();
    REQUIRE(disconnect);
    CHECK(disconnect->reason() == v1::Disconnect::OVERLOADED);
    CHECK(disconnect->retry_after_ms() >= 1000);
    CHECK(disconnect->retry_after_ms() < 5000);
    retries.push_back(disconnect->retry_after_ms());
  }
  CHECK((retries[0] != retries[1] || retries[1] != retries[2]));
  CHECK(server.stats().connections_rejected.load() == 3);
}

TEST_CASE("a silent client is pinged, then dropped as IDLE_TIMEOUT, and one that answers stays") {
  auto config = test::test_config();
  config.idle_timeout_ms = 500;
  TestServer server(config);
  auto silent = TestClient::connect_as(server.port(), "silent");
  auto lively = TestClient::connect_as(server.port(), "lively");
  const auto ping = lively.wait_for([](const auto& f) { return f.has_ping(); });
  REQUIRE(ping);
  v1::ClientFrame answer;
  answer.mutable_ping()->set_nonce(ping->ping().nonce());
  lively.send(answer);
  const auto disconnect = silent.wait_closed();
  REQUIRE(disconnect);
  CHECK(disconnect->reason() == v1::Disconnect::IDLE_TIMEOUT);
  bool saw_ping = false;
  for (const auto& frame : silent.skipped()) saw_ping = saw_ping || frame.has_ping();
  CHECK(saw_ping);
  // Lively answered its ping, so it outlived silent.
  v1::ClientFrame ping_request;
  ping_request.mutable_ping()->set_nonce(7);
  const auto pong = lively.reply_to(lively.send(ping_request), std::chrono::milliseconds(400));
  REQUIRE(pong);
  CHECK(pong->pong().nonce() == 7);
}

TEST_CASE("typing is relayed to the room and never stored") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  auto bob = TestClient::connect_as(server.port(), "bob");
  alice.join("#t");
  bob.join("#t");
  v1::ClientFrame typing;
  typing.mutable_typing()->set_room("#t");
  alice.send(typing);
  const auto event = bob.wait_for([](const auto& f) { return f.has_typing(); });
  REQUIRE(event);
  CHECK(event->typing().nick() == "alice");
  v1::ClientFrame history;
  history.mutable_history()->set_room("#t");
  history.mutable_history()->set_latest(true);
  const auto page = bob.reply_to(bob.send(history));
  REQUIRE(page);
  CHECK(page->history_reply().messages_size() == 0);
}

TEST_CASE("SIGHUP reloads the config file without dropping clients") {
  const std::string path = "chat-server-reload-" + std::to_string(::getpid()) + ".toml";
  std::ofstream(path) << "[limits]\nmax_text_bytes = 4000\n";
  test::ServerProcess server(
      {"--config", path, "--data-dir", path + ".data", "--messages-per-second", "0"});
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#r");
  CHECK(alice.say("#r", std::string(3000, 'x')).has_ack());
  std::ofstream(path) << "[limits]\nmax_text_bytes = 1000\n";
  ::kill(server.pid(), SIGHUP);
  REQUIRE(server.wait_for_log("reloaded", std::chrono::seconds(5)));
  CHECK(test::eventually([&] { return alice.say("#r", std::string(3000, 'x')).has_error(); }));
  CHECK(alice.say("#r", "short").has_ack());
  // A broken file is refused and the running config kept.
  std::ofstream(path) << "[limits]\nmax_text_bytes = \"huge\"\n";
  ::kill(server.pid(), SIGHUP);
  REQUIRE(server.wait_for_log("configuration refused", std::chrono::seconds(5)));
  CHECK(alice.say("#r", std::string(3000, 'x')).error().code() == v1::Error::TEXT_TOO_LONG);
  CHECK(server.stop() == 0);
  std::filesystem::remove(path);
  std::error_code ignored;
  std::filesystem::remove_all(path + ".data", ignored);
}

TEST_CASE("the accept-rate limit delays a connection storm instead of refusing it") {
  auto config = test::test_config();
  config.accepts_per_second = 4;
  config.accept_burst = 1;
  TestServer server(config);
  const auto start = std::chrono::steady_clock::now();
  std::vector<TestClient> clients;
  for (int i = 0; i < 3; ++i)
    clients.push_back(TestClient::connect_as(server.port(), "storm" + std::to_string(i)));
  // One accept at once, then one per 250 ms: the third cannot be welcomed sooner than 500 ms.
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(450));
  CHECK(server.stats().connections_accepted.load() == 3);
  CHECK(server.stats().connections_rejected.load() == 0);
}
