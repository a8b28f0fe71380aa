#pragma once
// A real chat-server in the test process, on an ephemeral loopback port. The shard count comes
// from CHAT_TEST_SHARDS (CTest runs the integration suite with 1 and with 4 shards).

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "server.hpp"

namespace chat::test {

inline server::ServerConfig test_config() {
  server::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.web = "";  // tests that need the web listener set an address
  config.irc_listen = "";
  const char* shards = std::getenv("CHAT_TEST_SHARDS");
  config.shards = shards ? static_cast<std::uint32_t>(std::atoi(shards)) : 2;
  config.log_level = "warn";
  config.messages_per_second = 0;  // tests that need a rate limit set one
  config.bytes_per_second = 0;
  config.storage = "temporary";  // a store of its own, removed with the server, no fsync
  config.hash_cost = "minimum";
  return config;
}

class TestServer {
 public:
  explicit TestServer(const server::ServerConfig& config = test_config()) : server_(config) {
    server_.start();
  }
  std::uint16_t port() const { return server_.port(); }
  std::uint16_t web_port() const { return server_.web_port(); }
  server::Server& server() { return server_; }
  const server::ServerStats& stats() const { return server_.stats(); }

 private:
  server::Server server_;
};

// Polls a condition until it holds or the deadline passes: for server-side counters, which have
// no event to wait on from outside.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

}  // namespace chat::test
