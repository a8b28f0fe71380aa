#pragma once
// chat-loadtest's command line.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chat {
class TlsContext;
}

namespace chat::loadtest {

enum class Scenario { fanout, chatter, churn, idle };
// tcp: chat.v1 on the chat port; websocket: chat.v1 over WebSocket on the web listener (/ws);
// irc: IRC lines on the IRC listener.
enum class Transport { tcp, websocket, irc };

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

struct Options {
  std::vector<Endpoint> servers;
  Scenario scenario = Scenario::fanout;
  std::uint32_t clients = 100;
  std::uint32_t senders = 1;
  std::uint32_t rooms = 1;
  std::uint32_t rooms_per_client = 1;
  double rate = 0;            // messages/s per sender; 0: closed loop with `window` in flight
  std::uint32_t window = 32;  // unacknowledged messages per sender in closed-loop mode
  std::chrono::milliseconds duration{10000};
  std::chrono::milliseconds drain{5000};
  double ramp_up = 0;          // new connections per second; 0: as fast as they go
  std::uint32_t payload = 64;  // text bytes per message
  std::uint32_t threads = 1;
  std::vector<std::string> source_addresses;
  std::uint64_t seed = 1;
  int server_pid = 0;
  std::chrono::milliseconds churn_interval{2000};  // churn: each client reconnects this often
  std::string json_path;
  std::string svg_path;
  bool progress = true;
  // --tls: every client connects with TLS using this context (--ca-file, --insecure).
  std::shared_ptr<TlsContext> tls;
  Transport transport = Transport::tcp;
  // --p99-bound: a step search instead of one run. The scenario runs again and again (fresh
  // connections each time), the rate per sender starting at `rate` and multiplied by
  // `rate_factor` each step, until p99 latency exceeds the bound or a run is not clean, or after
  // `max_steps` runs; the answer is the highest rate that stayed within the bound.
  double p99_bound_ms = 0;  // 0: one run at `rate`
  double rate_factor = 1.25;
  std::uint32_t max_steps = 12;
};

std::string_view scenario_name(Scenario scenario);

// "30", "30s", "500ms", "2m" -> milliseconds; nullopt when malformed or negative.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
// "127.0.0.2-127.0.0.40" or "127.0.0.2" -> every IPv4 address in the range (at most 65536).
std::optional<std::vector<std::string>> parse_address_range(const std::string& text);
// "HOST:PORT" -> Endpoint.
std::optional<Endpoint> parse_endpoint(const std::string& text);

// The options, or the exit code to leave with (0 after --help, 2 after a one-line error on err).
std::variant<Options, int> parse_options(int argc, const char* const* argv, std::ostream& out,
                                         std::ostream& err);

}  // namespace chat::loadtest
