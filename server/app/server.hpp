#pragma once
// chat-server as a library: shards, the accept loop and shutdown. main.cpp only wires it to
// signals; tests run it in-process on an ephemeral port.

#include <cstdint>
#include <memory>
#include <vector>

#include "config.hpp"
#include "server_stats.hpp"

namespace chat::server {

struct ServerContext;
class Acceptor;
class Admission;
class ClusterDispatch;
class MemoryReleaser;
class StatusEndpoint;
class WebRouter;

class Server {
 public:
  explicit Server(const ServerConfig& config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listeners and starts the shard threads. Throws std::runtime_error with a one-line
  // reason when it cannot (address in use, bad address, unreadable TLS certificate or key).
  void start();
  // The ports bound (the real ones when the config asked for port 0); 0 for a listener that is off.
  std::uint16_t port() const;
  std::uint16_t tls_port() const;
  std::uint16_t http_port() const;
  std::uint16_t irc_port() const;
  std::uint16_t irc_tls_port() const;
  std::uint16_t web_port() const;
  std::uint16_t web_tls_port() const;
  // Graceful shutdown: stop accepting, send SERVER_SHUTDOWN to every client, let outboxes flush
  // within shutdown_timeout_ms, then stop. Idempotent.
  void stop();
  // Applies new limits and log level to running shards without dropping clients, and re-reads the
  // TLS certificate and key (a bad pair is refused: the old one stays). Listen addresses and the
  // shard count need a restart.
  void reload(const ServerConfig& config);

  const ServerStats& stats() const;
  std::uint32_t shard_count() const;

 private:
  void restore_rooms();
  void open_listeners();
  // The listeners that are on, for what they all do alike.
  std::vector<Acceptor*> acceptors() const;
  void log_listeners() const;

  std::unique_ptr<ServerContext> context_;
  // Told by the cluster engine (in context_->storage, which it outlives: storage goes first).
  std::unique_ptr<ClusterDispatch> cluster_dispatch_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<Acceptor> acceptor_;
  std::unique_ptr<Acceptor> tls_acceptor_;
  std::unique_ptr<WebRouter> web_router_;
  std::unique_ptr<WebRouter> web_tls_router_;
  std::unique_ptr<Acceptor> irc_acceptor_;
  std::unique_ptr<Acceptor> irc_tls_acceptor_;
  std::unique_ptr<Acceptor> web_acceptor_;
  std::unique_ptr<Acceptor> web_tls_acceptor_;
  std::unique_ptr<StatusEndpoint> status_;
  std::unique_ptr<MemoryReleaser> memory_releaser_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace chat::server
