// What an operator sees: /metrics, /healthz and /readyz fetched with curl from a server in the test
// process (the page checked by promtool), and chat-server's JSON log lines.
#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "client.hpp"
#include "cluster_support.hpp"
#include "coroutine_test.hpp"
#include "http_get.hpp"
#include "server_process.hpp"
#include "test_client.hpp"
#include "tls_support.hpp"

using namespace chat;
using namespace std::chrono_literals;
using chat::test::ChildProcess;
using chat::test::http_get;
using chat::test::HttpAnswer;
using chat::test::TestClient;
using chat::test::TestServer;

namespace {

// A Prometheus text page as "name{labels}" -> value (comments skipped).
class Metrics {
 public:
  explicit Metrics(std::string page) : page_(std::move(page)) {
    std::istringstream in(page_);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line.starts_with('#')) continue;
      const auto space = line.rfind(' ');
      REQUIRE_MESSAGE(space != std::string::npos, "not a sample: ", line);
      values_[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
  }
  double operator[](const std::string& series) const {
    const auto it = values_.find(series);
    REQUIRE_MESSAGE(it != values_.end(), "no ", series, " in /metrics");
    return it->second;
  }
  const std::string& page() const { return page_; }

 private:
  std::string page_;
  std::map<std::string, double> values_;
};

Metrics scrape(TestServer& server) {
  const HttpAnswer answer = http_get(server.server().http_port(), "/metrics");
  REQUIRE(answer.status == 200);
  return Metrics(answer.body);
}

server::ServerConfig observed_config(const test::CertificateDir& dir) {
  auto config = test::tls_config(dir.certs().server_cert, dir.certs().server_key);
  config.http = "127.0.0.1:0";
  return config;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("/metrics over HTTP follows what clients did, and promtool accepts the page") {
  test::CertificateDir dir;
  TestServer server(observed_config(dir));
  REQUIRE(server.server().http_port() != 0);
  const Metrics idle = scrape(server);
  CHECK(idle["chat_connections"] == 0);
  CHECK(idle["chat_messages_in_total"] == 0);
  CHECK(idle["chat_ack_latency_seconds_count"] == 0);

  test::run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    // alice and bob in plain text, carol over TLS, all in lobby; alice says n things.
    auto alice = TestClient::connect_as(server.port(), "alice");
    auto bob = TestClient::connect_as(server.port(), "bob");
    REQUIRE(alice.join("lobby").has_join_reply());
    REQUIRE(bob.join("lobby").has_join_reply());
    auto carol = test::make_client(io, server.server().tls_port(), "carol", dir.certs().ca_cert);
    auto welcome = co_await carol->connect();
    REQUIRE_MESSAGE(welcome.ok(), welcome.failure().message);
    REQUIRE((co_await carol->join("lobby", 0)).ok());
    // Presence goes through the same fan-out: once everyone has seen carol arrive, the count
    // of deliveries stands still until the first message.
    auto carol_joined = [](const v1::ServerFrame& frame) {
      return frame.has_member_joined() && frame.member_joined().nick() == "carol";
    };
    REQUIRE(alice.wait_for(carol_joined));
    REQUIRE(bob.wait_for(carol_joined));
    for (;;) {
      const auto event = co_await carol->next_event();
      const auto* frame = std::get_if<v1::ServerFrame>(&event);
      if (frame && carol_joined(*frame)) break;
    }
    const Metrics joined = scrape(server);
    const auto deliveries_before = static_cast<std::uint64_t>(joined["chat_deliveries_total"]);
    CHECK(joined["chat_connections"] == 3);
    CHECK(joined["chat_tls_connections"] == 1);
    CHECK(joined["chat_rooms"] == 1);
    CHECK(joined["chat_room_members"] == 3);

    constexpr int n = 5;
    for (int i = 1; i <= n; ++i)
      REQUIRE(alice.say("lobby", "message " + std::to_string(i)).has_ack());
    CHECK(bob.wait_for([](const v1::ServerFrame& frame) {
      return frame.has_room_message() && frame.room_message().text() == "message 5";
    }));
    // One refusal, and one TLS handshake that fails (the client does not trust the server).
    const auto refused = alice.say("elsewhere", "not joined");
    REQUIRE(refused.has_error());
    CHECK(refused.error().code() == v1::Error::NOT_IN_ROOM);
    auto doubter =
        test::make_client(io, server.server().tls_port(), "dave", dir.certs().other_ca_cert);
    co_await test::refused(doubter);

    // Counted after the replies the clients waited for (fan-out on other shards, the Ack's
    // latency, the server's side of the failed handshake): wait for them before scraping.
    const auto& stats = server.stats();
    REQUIRE(test::eventually([&] {
      return server::ServerStats::get(stats.deliveries) == deliveries_before + 3u * n &&
             stats.ack_latency.snapshot().count == std::uint64_t{n} &&
             server::ServerStats::get(stats.tls_handshake_failures) == 1;
    }));
    const Metrics busy = scrape(server);
    CHECK(busy["chat_connections"] == 3);
    CHECK(busy["chat_tls_connections"] == 1);
    CHECK(busy["chat_connections_accepted_total"] == 4);
    CHECK(busy["chat_rooms"] == 1);
    CHECK(busy["chat_room_members"] == 3);
    CHECK(busy["chat_messages_in_total"] == n);
    CHECK(busy["chat_deliveries_total"] - joined["chat_deliveries_total"] == 3 * n);
    CHECK(busy["chat_ack_latency_seconds_count"] == n);
    CHECK(busy[R"(chat_ack_latency_seconds_bucket{le="+Inf"})"] == n);
    CHECK(busy["chat_ack_latency_seconds_sum"] > 0);
    CHECK(busy["chat_store_commit_seconds_count"] > idle["chat_store_commit_seconds_count"]);
    CHECK(busy["chat_store_commits_total"] == busy["chat_store_commit_seconds_count"]);
    CHECK(busy[R"(chat_errors_total{code="not_in_room"})"] == 1);
    CHECK(busy[R"(chat_connections_rejected_total{reason="tls_handshake"})"] == 1);
    CHECK(busy[R"(chat_connections_rejected_total{reason="max_connections"})"] == 0);
    CHECK(busy["chat_bytes_in_total"] > 0);
    CHECK(busy["chat_bytes_out_total"] > 0);

    ChildProcess promtool({"/usr/bin/promtool", "check", "metrics"});
    promtool.write(busy.page());
    promtool.close_stdin();
    CHECK_MESSAGE(promtool.wait_exit() == 0, (promtool.out() + promtool.err()));
    carol->close();
  });
}

TEST_CASE("/healthz and /readyz answer over HTTP, and an unknown path is 404") {
  test::CertificateDir dir;
  TestServer server(observed_config(dir));
  const std::uint16_t port = server.server().http_port();
  const HttpAnswer health = http_get(port, "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  const HttpAnswer ready = http_get(port, "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");
  const HttpAnswer unknown = http_get(port, "/nothing-here");
  CHECK(unknown.status == 404);
  CHECK(unknown.body.find("/metrics") != std::string::npos);  // says where to look instead
}

TEST_CASE("chat-server --log-format json writes each log line as one JSON object") {
  test::ServerProcess server({"--log-format", "json"});
  {
    auto alice = TestClient::connect_as(server.port(), "alice");
    alice.join("lobby");
  }
  REQUIRE(server.wait_for_log("disconnect ", 10s));
  CHECK(server.stop() == 0);
  const auto lines = lines_of(server.log());
  CHECK(lines.size() >= 4);  // listening, connect, disconnect, shutting down, stopped
  for (const std::string& line : lines) {
    CHECK_MESSAGE(line.starts_with(R"({"time":")"), line);
    CHECK_MESSAGE(line.find(R"(,"level":")") != std::string::npos, line);
    CHECK_MESSAGE(line.find(R"(,"msg":")") != std::string::npos, line);
    CHECK_MESSAGE(line.ends_with(R"("})"), line);
  }
  CHECK(server.count_in_log(R"("level":"info","msg":"listening on 127.0.0.1:)") == 1);
}

TEST_CASE("a cluster node is not ready while its Redis is away, and ready again after") {
  chat::test::RedisProcess redis;
  auto config = chat::test::node_config(redis);
  config.http = "127.0.0.1:0";
  TestServer node(config);
  const std::uint16_t port = node.server().http_port();
  CHECK(chat::test::eventually([&] { return http_get(port, "/readyz").status == 200; }));

  redis.kill();
  HttpAnswer away;
  CHECK(chat::test::eventually([&] {
    away = http_get(port, "/readyz");
    return away.status == 503;
  }));
  CHECK(away.body.find("redis unavailable") != std::string::npos);
  CHECK(http_get(port, "/healthz").status == 200);  // up, just not ready

  redis.restart();
  CHECK(chat::test::eventually([&] { return http_get(port, "/readyz").status == 200; },
                               std::chrono::seconds(20)));
}
