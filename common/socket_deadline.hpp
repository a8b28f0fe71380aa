#pragma once
// Closes a socket when a deadline passes, which ends whatever read or write waits on it: the one
// way to bound a coroutine's socket operations (a TLS handshake, an HTTP exchange, a last frame
// before closing). Cancelled or destroyed first, it leaves the socket alone, even when the timer
// had already fired and its handler was queued.

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace chat {

class SocketDeadline {
 public:
  explicit SocketDeadline(asio::ip::tcp::socket& socket)
      : socket_(socket), timer_(socket.get_executor()) {}
  ~SocketDeadline() { cancel(); }
  SocketDeadline(const SocketDeadline&) = delete;
  SocketDeadline& operator=(const SocketDeadline&) = delete;

  // Replaces any deadline set before.
  void expires_after(std::chrono::steady_clock::duration timeout) {
    cancel();
    armed_ = std::make_shared<bool>(true);
    timer_.expires_after(timeout);
    timer_.async_wait([&socket = socket_, armed = armed_](const asio::error_code& error) {
      if (error || !*armed) return;
      asio::error_code ignored;
      socket.close(ignored);
    });
  }
  void cancel() {
    if (armed_) *armed_ = false;
    timer_.cancel();
  }

 private:
  asio::ip::tcp::socket& socket_;
  asio::steady_timer timer_;
  std::shared_ptr<bool> armed_;
};

}  // namespace chat
