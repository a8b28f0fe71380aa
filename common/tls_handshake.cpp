#include "tls_handshake.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <vector>

namespace chat {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

std::string lost(const asio::error_code& ec) {
  if (ec == asio::error::eof) return "the peer closed the connection during the TLS handshake";
  if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
    return "the TLS handshake timed out";
  return "connection lost during the TLS handshake: " + ec.message();
}

}  // namespace

asio::awaitable<TlsHandshakeResult> tls_handshake(asio::ip::tcp::socket& socket,
                                                  TlsChannel& channel) {
  TlsHandshakeResult result;
  std::string out;
  bool first_read = true;
  asio::error_code ignored;
  socket.non_blocking(true, ignored);  // reads below follow readiness and must never block
  for (;;) {
    out.clear();
    channel.take_output(out);  // an alert too, when the channel failed
    if (!out.empty()) {
      auto [ec, n] = co_await asio::async_write(socket, asio::buffer(out), use_tuple);
      if (ec && !channel.failed()) {
        result.failure = lost(ec);
        co_return result;
      }
    }
    if (channel.failed()) {
      result.failure = "TLS handshake failed: " + channel.failure();
      co_return result;
    }
    if (channel.handshake_done()) {
      result.ok = true;
      co_return result;
    }
    // Wait first and read into a buffer that exists only for the read: thousands of handshakes
    // waiting for their peers hold no read buffers.
    auto [wait_error] = co_await socket.async_wait(asio::socket_base::wait_read, use_tuple);
    if (wait_error) {
      result.failure = lost(wait_error);
      co_return result;
    }
    std::vector<char> buffer(16 * 1024);
    asio::error_code ec;
    const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec) {
      result.failure = lost(ec);
      co_return result;
    }
    const std::string_view bytes(buffer.data(), n);
    if (first_read && looks_like_plaintext(bytes)) {
      result.peer_sent_plaintext = true;
      result.failure = "TLS handshake failed: the peer does not speak TLS";
      co_return result;
    }
    first_read = false;
    channel.receive(bytes, result.early_plaintext);
  }
}

}  // namespace chat
