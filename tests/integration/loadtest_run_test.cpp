// chat-loadtest's runner against a real in-process server: it must count every delivery.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "options.hpp"
#include "rate_search.hpp"
#include "report.hpp"
#include "run.hpp"
#include "test_server.hpp"
#include "tls_support.hpp"

using namespace chat;
using namespace std::chrono_literals;

namespace {

// chat-loadtest's options from its command line, as a user would give them.
loadtest::Options parse_flags(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  auto parsed = loadtest::parse_options(static_cast<int>(argv.size()), argv.data(), out, err);
  REQUIRE_MESSAGE(std::holds_alternative<loadtest::Options>(parsed), err.str());
  return std::get<loadtest::Options>(parsed);
}

}  // namespace

TEST_CASE("a short fanout run delivers everything once and reports it") {
  test::TestServer server;
  loadtest::Options options;
  options.servers = {{"127.0.0.1", server.port()}};
  options.clients = 50;
  options.senders = 2;
  options.duration = 500ms;
  options.progress = false;
  options.threads = 2;
  std::ostringstream progress;
  const auto result = loadtest::run_load(options, progress);
  CHECK(result.clients_connected == 50);
  CHECK(result.sent > 0);
  CHECK(result.acked == result.sent);
  CHECK(result.totals.lost == 0);
  CHECK(result.totals.duplicates == 0);
  CHECK(result.totals.delivered == result.acked * 50);
  CHECK(result.clean());
  std::ostringstream summary;
  loadtest::print_summary(result, summary);
  CHECK(summary.str().find("PASS") != std::string::npos);
  CHECK(loadtest::to_json(result).find("\"lost\": 0") != std::string::npos);
  CHECK(loadtest::to_svg(result).find("<svg") == 0);
}

TEST_CASE("--transport ws: every scenario over the web listener's /ws delivers everything once") {
  auto config = test::test_config();
  config.web = "127.0.0.1:0";
  test::TestServer server(config);
  for (const auto scenario : {loadtest::Scenario::fanout, loadtest::Scenario::chatter,
                              loadtest::Scenario::churn, loadtest::Scenario::idle}) {
    CAPTURE(loadtest::scenario_name(scenario));
    loadtest::Options options;
    options.transport = loadtest::Transport::websocket;
    options.servers = {{"127.0.0.1", server.web_port()}};
    options.scenario = scenario;
    options.clients = 40;
    options.senders = 2;
    options.rooms = 4;
    options.rooms_per_client = 2;
    options.rate = scenario == loadtest::Scenario::fanout ? 0 : 20;
    options.churn_interval = 200ms;
    options.duration = 500ms;
    options.progress = false;
    std::ostringstream progress;
    const auto result = loadtest::run_load(options, progress);
    CHECK(result.clients_connected == 40);
    CHECK(result.totals.lost == 0);
    CHECK(result.totals.duplicates == 0);
    CHECK(result.clean());
    if (scenario != loadtest::Scenario::idle) CHECK(result.totals.delivered > 0);
  }
}

TEST_CASE("the harness sees a slow-consumer policy as skipped, not lost, and reports refusals") {
  auto config = test::test_config();
  config.messages_per_second = 50;
  config.message_burst = 5;
  config.rate_limit_strikes = 1000000;
  test::TestServer server(config);
  loadtest::Options options;
  options.servers = {{"127.0.0.1", server.port()}};
  options.clients = 5;
  options.senders = 1;
  options.duration = 300ms;
  options.drain = 1s;
  options.progress = false;
  std::ostringstream progress;
  const auto result = loadtest::run_load(options, progress);
  CHECK(result.totals.errors[v1::Error::RATE_LIMITED] > 0);
  CHECK_FALSE(result.clean());  // refusals make the run fail, so CI notices
  CHECK(result.totals.lost == 0);
}

TEST_CASE("a fanout run with --tls --ca-file connects every client over TLS and loses nothing") {
  test::CertificateDir dir;
  test::TestServer server(test::tls_config(dir.certs().server_cert, dir.certs().server_key));
  const std::string address = "127.0.0.1:" + std::to_string(server.server().tls_port());
  const std::string ca = dir.certs().ca_cert.string();
  const std::vector<std::string> args{
      "chat-loadtest", "--server", address,      "--tls", "--ca-file", ca,  "--clients",    "20",
      "--senders",     "2",        "--duration", "300ms", "--threads", "2", "--no-progress"};
  const loadtest::Options options = parse_flags(args);
  REQUIRE(options.tls != nullptr);

  std::ostringstream progress;
  const auto result = loadtest::run_load(options, progress);
  CHECK(result.clients_connected == 20);
  CHECK(result.sent > 0);
  CHECK(result.acked == result.sent);
  CHECK(result.totals.lost == 0);
  CHECK(result.totals.duplicates == 0);
  CHECK(result.totals.delivered == result.acked * 20);
  CHECK(result.clean());
  CHECK(server.stats().tls_handshake_failures == 0);
  CHECK(server.stats().connections_accepted == 20);
}

TEST_CASE("--tls --transport ws: WebSocket over the web TLS listener loses nothing") {
  test::CertificateDir dir;
  auto config = test::tls_config(dir.certs().server_cert, dir.certs().server_key);
  config.web_tls_listen = "127.0.0.1:0";
  test::TestServer server(config);
  const std::string address = "127.0.0.1:" + std::to_string(server.server().web_tls_port());
  const std::string ca = dir.certs().ca_cert.string();
  const std::vector<std::string> args{
      "chat-loadtest", "--server", address,      "--tls", "--ca-file",   ca,   "--clients",    "20",
      "--senders",     "2",        "--duration", "300ms", "--transport", "ws", "--no-progress"};
  std::ostringstream progress;
  const auto result = loadtest::run_load(parse_flags(args), progress);
  CHECK(result.clients_connected == 20);
  CHECK(result.sent > 0);
  CHECK(result.totals.lost == 0);
  CHECK(result.totals.delivered == result.acked * 20);
  CHECK(result.clean());
  CHECK(server.stats().tls_handshake_failures == 0);
}

TEST_CASE("--p99-bound: the rate rises step by step while p99 stays within the bound") {
  test::TestServer server;
  const std::string address = "127.0.0.1:" + std::to_string(server.port());
  auto options = parse_flags({"chat-loadtest",
                              "--server",
                              address,
                              "--scenario",
                              "chatter",
                              "--clients",
                              "20",
                              "--rooms",
                              "2",
                              "--rate",
                              "5",
                              "--rate-factor",
                              "2",
                              "--max-steps",
                              "2",
                              "--duration",
                              "300ms",
                              "--drain",
                              "2s",
                              "--no-progress",
                              "--p99-bound",
                              "10000"});
  std::ostringstream progress;
  const auto search = loadtest::search_rate(options, progress);
  REQUIRE(search.steps.size() == 2);
  CHECK(search.steps[0].rate_per_sender == 5);
  CHECK(search.steps[1].rate_per_sender == 10);
  CHECK(search.steps[1].offered_per_second == 200);  // 20 senders
  CHECK(search.steps[1].result.clean());
  REQUIRE(search.highest_within() == std::size_t{1});
  std::ostringstream summary;
  loadtest::print_summary(search, summary);
  CHECK(summary.str().find("highest rate within p99 10000.0 ms: 10 messages/s per sender") !=
        std::string::npos);
  CHECK(loadtest::to_json(search).find("\"highest_within_bound\": {\"rate_per_sender\": 10,") !=
        std::string::npos);
  CHECK(loadtest::to_svg(search).find("<svg") == 0);

  // A bound no real socket meets: the first step is over it, and the search stops there.
  options.p99_bound_ms = 0.001;
  const auto impossible = loadtest::search_rate(options, progress);
  CHECK(impossible.steps.size() == 1);
  CHECK_FALSE(impossible.highest_within());
  CHECK(loadtest::to_json(impossible).find("\"highest_within_bound\": null") != std::string::npos);
}
