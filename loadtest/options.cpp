#include "options.hpp"

#include "command_line_parse.hpp"
#include "host_port.hpp"
#include "tls_context.hpp"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <ostream>

namespace chat::loadtest {

std::string_view scenario_name(Scenario scenario) {
  switch (scenario) {
    case Scenario::fanout:
      return "fanout";
    case Scenario::chatter:
      return "chatter";
    case Scenario::churn:
      return "churn";
    case Scenario::idle:
      return "idle";
  }
  return "?";
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || value < 0 || ptr == begin) return std::nullopt;
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = value * 1000;
  } else if (unit == "ms") {
    ms = value;
  } else if (unit == "m") {
    ms = value * 60000;
  } else {
    return std::nullopt;
  }
  if (ms > 24.0 * 3600 * 1000) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::optional<std::vector<std::string>> parse_address_range(const std::string& text) {
  const auto dash = text.find('-');
  const std::string first = text.substr(0, dash);
  const std::string last = dash == std::string::npos ? first : text.substr(dash + 1);
  in_addr a{};
  in_addr b{};
  if (::inet_pton(AF_INET, first.c_str(), &a) != 1 || ::inet_pton(AF_INET, last.c_str(), &b) != 1)
    return std::nullopt;
  const std::uint32_t from = ntohl(a.s_addr);
  const std::uint32_t to = ntohl(b.s_addr);
  if (to < from || to - from >= 65536) return std::nullopt;
  std::vector<std::string> addresses;
  for (std::uint32_t ip = from;; ++ip) {
    in_addr address{htonl(ip)};
    char buffer[INET_ADDRSTRLEN];
    addresses.emplace_back(::inet_ntop(AF_INET, &address, buffer, sizeof buffer));
    if (ip == to) break;
  }
  return addresses;
}

std::optional<Endpoint> parse_endpoint(const std::string& text) {
  const auto parsed = parse_host_port(text);
  if (!parsed || parsed->port == 0) return std::nullopt;
  return Endpoint{parsed->host, parsed->port};
}

std::variant<Options, int> parse_options(int argc, const char* const* argv, std::ostream& out,
                                         std::ostream& err) {
  Options options;
  std::vector<std::string> servers{"127.0.0.1:7777"};
  std::string scenario = "fanout";
  std::string duration = "10s";
  std::string drain = "5s";
  std::string churn_interval = "2s";
  std::string sources;
  std::optional<std::uint32_t> members;
  bool no_progress = false;

  CLI::App app{
      "chat-loadtest: spawns thousands of chat clients against chat-server and checks every "
      "delivery",
      "chat-loadtest"};
  app.option_defaults()->always_capture_default();
  app.add_option("--server", servers,
                 "server HOST:PORT; repeat for several (clients spread round robin)");
  bool tls = false;
  bool insecure = false;
  std::string ca_file;
  app.add_flag("--tls", tls, "connect with TLS (the server's tls_listen or web_tls_listen port)");
  std::string transport = "tcp";
  app.add_option("--transport", transport,
                 "tcp: chat.v1 on the chat port | ws: chat.v1 over WebSocket (binary subprotocol "
                 "chat.v1) at /ws on the server's web listener | irc: IRC on the server's IRC "
                 "listener (fanout, chatter and idle; rooms must be empty when the run starts)")
      ->check(CLI::IsMember({"tcp", "ws", "irc"}));
  app.add_option("--ca-file", ca_file, "PEM file of the CA(s) to trust for TLS")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", insecure,
               "TLS without checking the server's certificate or name (development only)");
  app.add_option(
         "--scenario", scenario,
         "fanout: one room, --senders of --members send | chatter: --rooms rooms, each client in "
         "--rooms-per-client, all send at --rate | churn: chatter whose clients reconnect and "
         "resume | "
         "idle: hold --clients joined connections")
      ->check(CLI::IsMember({"fanout", "chatter", "churn", "idle"}));
  app.add_option("--clients", options.clients, "clients to connect")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--members", members, "fanout: room members (same as --clients)")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--senders", options.senders, "fanout: how many members send")
      ->check(CLI::Range(0u, 1000000u));
  app.add_option("--rooms", options.rooms, "chatter, churn, idle: rooms")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--rooms-per-client", options.rooms_per_client,
                 "chatter, churn, idle: rooms each client joins")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--rate", options.rate,
                 "messages/s per sender (0: as fast as acks allow, --window in flight)")
      ->check(CLI::Range(0.0, 10000000.0));
  app.add_option("--window", options.window, "closed loop: unacknowledged messages per sender")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--duration", duration, "how long senders send: 30, 30s, 500ms, 2m");
  app.add_option("--drain", drain, "after --duration, how long to wait for deliveries in flight");
  app.add_option("--ramp-up", options.ramp_up, "new connections per second (0: as fast as they go)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--payload", options.payload,
                 "text bytes per message (>= 24: a timestamp rides in it)")
      ->check(CLI::Range(24u, 1u << 20));
  app.add_option("--threads", options.threads, "event loops (one thread each)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--source-addresses", sources,
                 "local addresses to connect from, e.g. 127.0.0.2-127.0.0.40");
  app.add_option("--seed", options.seed, "seed for nicks and jitter");
  app.add_option("--server-pid", options.server_pid,
                 "server process to read RSS and CPU time of (/proc)")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--churn-interval", churn_interval, "churn: each client reconnects this often");
  app.add_option("--json", options.json_path, "write every figure as JSON to this file");
  app.add_option("--svg", options.svg_path,
                 "write a chart of deliveries/s and latency over time to this file");
  app.add_flag("--no-progress", no_progress, "no progress lines while running");
  app.add_option("--p99-bound", options.p99_bound_ms,
                 "step search: run the scenario at --rate, then at rates --rate-factor higher, "
                 "until p99 latency passes this many ms; report the highest rate within it")
      ->check(CLI::Range(0.001, 1e6));
  app.add_option("--rate-factor", options.rate_factor, "step search: the rate's growth per step")
      ->check(CLI::Range(1.01, 100.0));
  app.add_option("--max-steps", options.max_steps, "step search: runs at most")
      ->check(CLI::Range(1u, 1000u));

  if (auto exit_code = parse_or_exit_code(app, argc, argv, out, err, "chat-loadtest"))
    return *exit_code;
  auto fail = [&](const std::string& message) {
    err << "chat-loadtest: " << message << "\n";
    return 2;
  };
  for (const auto& text : servers) {
    const auto endpoint = parse_endpoint(text);
    if (!endpoint) return fail("--server: '" + text + "' is not HOST:PORT");
    options.servers.push_back(*endpoint);
  }
  if (!tls && (insecure || !ca_file.empty()))
    return fail(std::string(insecure ? "--insecure" : "--ca-file") + " needs --tls");
  if (insecure && !ca_file.empty()) return fail("--insecure and --ca-file: choose one");
  if (tls) {
    if (insecure) {
      err << "chat-loadtest: warning: --insecure: server certificates are not checked\n";
    }
    try {
      options.tls = TlsContext::client({.ca_file = ca_file, .verify = !insecure});
    } catch (const TlsError& e) {
      return fail(std::string("--tls: ") + e.what());
    }
  }
  options.scenario = scenario == "chatter" ? Scenario::chatter
                     : scenario == "churn" ? Scenario::churn
                     : scenario == "idle"  ? Scenario::idle
                                           : Scenario::fanout;
  options.transport = transport == "ws"    ? Transport::websocket
                      : transport == "irc" ? Transport::irc
                                           : Transport::tcp;
  if (options.transport == Transport::irc && options.scenario == Scenario::churn)
    return fail("--transport irc: churn needs resume, which IRC does not have");
  if (members) options.clients = *members;
  const auto parsed_duration = parse_duration(duration);
  if (!parsed_duration)
    return fail("--duration: '" + duration + "' is not a duration like 30, 30s, 500ms or 2m");
  options.duration = *parsed_duration;
  const auto parsed_drain = parse_duration(drain);
  if (!parsed_drain) return fail("--drain: '" + drain + "' is not a duration");
  options.drain = *parsed_drain;
  const auto parsed_churn = parse_duration(churn_interval);
  if (!parsed_churn || parsed_churn->count() < 10)
    return fail("--churn-interval: '" + churn_interval + "' is not a duration >= 10ms");
  options.churn_interval = *parsed_churn;
  if (!sources.empty()) {
    auto range = parse_address_range(sources);
    if (!range)
      return fail("--source-addresses: '" + sources +
                  "' is not an IPv4 address or FIRST-LAST range");
    options.source_addresses = std::move(*range);
  }
  if (options.scenario == Scenario::fanout && options.senders > options.clients) {
    return fail("--senders: at most --members (" + std::to_string(options.clients) + ")");
  }
  if (options.rooms_per_client > options.rooms) return fail("--rooms-per-client: at most --rooms");
  if (options.p99_bound_ms > 0 && options.rate <= 0)
    return fail("--p99-bound: the search starts at --rate, which must be above 0");
  if (options.p99_bound_ms > 0 && options.scenario == Scenario::idle)
    return fail("--p99-bound: idle clients send nothing to measure");
  options.progress = !no_progress;
  return options;
}

}  // namespace chat::loadtest
