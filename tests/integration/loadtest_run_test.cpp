// chat-loadtest's runner against a real in-process server: it must count every delivery.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "options.hpp"
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
