#pragma once
// The accept loop: admission control, an accept-rate limit, EMFILE back-off, and hand-off of each
// new connection to a shard (round robin), where its session runs.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>

#include "admission.hpp"
#include "config.hpp"
#include "token_bucket.hpp"

namespace chat::server {

struct ServerContext;

class Acceptor {
 public:
  // Binds and listens at once (throws on failure); accepting starts with start().
  Acceptor(ServerContext& context, asio::io_context& io, const ListenAddress& address);

  std::uint16_t port() const { return port_; }
  void start();
  // Closes the listener; the accept loop ends. Call on the acceptor's io_context thread.
  void close();
  void reload(const ServerConfig& config);

 private:
  asio::awaitable<void> accept_loop();
  void reject(asio::ip::tcp::socket socket, const Refusal& refusal);

  ServerContext& context_;
  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  std::uint16_t port_ = 0;
  Admission admission_;
  TokenBucket accept_bucket_;
  std::uint32_t next_shard_ = 0;
};

AdmissionLimits admission_limits(const ServerConfig& config);

}  // namespace chat::server
