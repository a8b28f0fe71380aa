#pragma once
// The accept loop: admission control, an accept-rate limit, EMFILE back-off, and hand-off of each
// new connection to a shard (round robin), where its front door serves it.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <memory>

#include "admission.hpp"
#include "config.hpp"
#include "front_door.hpp"
#include "token_bucket.hpp"

namespace chat {
class TlsContext;
}

namespace chat::server {

struct ServerContext;

class Acceptor {
 public:
  // Binds and listens at once (throws on failure); accepting starts with start(). With a TLS
  // context every connection does a TLS handshake first. Connections from all acceptors count
  // against one admission.
  Acceptor(ServerContext& context, asio::io_context& io, const ListenAddress& address,
           Admission& admission, FrontDoor front_door, std::shared_ptr<TlsContext> tls = nullptr);

  std::uint16_t port() const { return port_; }
  void start();
  // Closes the listener; the accept loop ends. Call on the acceptor's io_context thread.
  void close();
  void reload(const ServerConfig& config);
  // New connections use this context (certificates re-read); open ones keep theirs.
  void set_tls_context(std::shared_ptr<TlsContext> tls);
  bool uses_tls() const { return tls_ != nullptr; }
  bool is_open() const { return acceptor_.is_open(); }

 private:
  asio::awaitable<void> accept_loop();
  void reject(asio::ip::tcp::socket socket, const Refusal& refusal);

  ServerContext& context_;
  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  std::uint16_t port_ = 0;
  Admission& admission_;
  FrontDoor front_door_;
  std::shared_ptr<TlsContext> tls_;
  TokenBucket accept_bucket_;
  std::uint32_t next_shard_ = 0;
};

AdmissionLimits admission_limits(const ServerConfig& config);

}  // namespace chat::server
