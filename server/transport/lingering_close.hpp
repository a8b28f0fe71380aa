#pragma once
// The end of a connection whose last words were just written: half-close, then read what the
// client still sends until it closes (a second at most). Closing with unread input would reset
// the connection, which can destroy the last words before the client has read them.

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <chrono>

#include "socket_deadline.hpp"

namespace chat::server {

inline asio::awaitable<void> lingering_close(asio::ip::tcp::socket& socket,
                                             SocketDeadline& deadline) {
  constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
  deadline.expires_after(std::chrono::seconds(1));
  asio::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  for (std::array<char, 512> sink;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
  }
  deadline.cancel();
  socket.close(ignored);
}

}  // namespace chat::server
