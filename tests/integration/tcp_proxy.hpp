#pragma once
// A TCP proxy between a client under test and the server, on the test's io_context, that can
// misbehave on cue: drop every connection, refuse new ones, swallow bytes in either direction,
// or stop reading from the server (so the server sees a slow consumer).

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "wake_signal.hpp"

namespace chat::test {

class TcpProxy {
 public:
  TcpProxy(asio::io_context& io, std::uint16_t server_port);
  ~TcpProxy();

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void drop_all();
  void set_stalled(bool stalled);  // stop (or resume) reading what the server sends

  bool refuse_new = false;        // close new connections at once
  bool swallow_replies = false;   // server -> client bytes are discarded
  bool swallow_requests = false;  // client -> server bytes are discarded
  std::size_t accepted() const { return accepted_; }

 private:
  struct Link {
    explicit Link(asio::io_context& io) : client(io), server(io) {}
    asio::ip::tcp::socket client;
    asio::ip::tcp::socket server;
  };
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> pump(std::shared_ptr<Link> link, bool to_client);

  asio::io_context& io_;
  std::uint16_t server_port_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::weak_ptr<Link>> links_;
  bool stalled_ = false;
  WakeSignal unstalled_;
  std::size_t accepted_ = 0;
};

}  // namespace chat::test
