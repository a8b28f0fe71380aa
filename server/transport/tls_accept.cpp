#include "tls_accept.hpp"

#include <spdlog/spdlog.h>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>

#include "lingering_close.hpp"
#include "shard.hpp"
#include "socket_deadline.hpp"
#include "tls_channel.hpp"
#include "tls_handshake.hpp"

namespace chat::server {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> refuse_plaintext(asio::ip::tcp::socket& socket, SocketDeadline& deadline,
                                       std::string_view refusal) {
  deadline.expires_after(std::chrono::seconds(1));
  co_await asio::async_write(socket, asio::buffer(refusal), use_tuple);
  co_await lingering_close(socket, deadline);
}

}  // namespace

asio::awaitable<std::optional<TlsAccepted>> accept_tls(Shard& shard, asio::ip::tcp::socket& socket,
                                                       std::shared_ptr<TlsContext> context,
                                                       const std::string& peer,
                                                       std::string_view plaintext_refusal) {
  auto channel = std::make_unique<TlsChannel>(std::move(context));
  SocketDeadline deadline(socket);
  deadline.expires_after(std::chrono::milliseconds(shard.config().handshake_timeout_ms));
  TlsHandshakeResult handshake = co_await tls_handshake(socket, *channel);
  deadline.cancel();
  if (handshake.ok) {
    co_return TlsAccepted{.channel = std::move(channel),
                          .early_plaintext = std::move(handshake.early_plaintext)};
  }
  ServerStats::add(shard.context().stats.tls_handshake_failures);
  spdlog::info("TLS handshake with {} failed: {}", peer, handshake.failure);
  if (handshake.peer_sent_plaintext && socket.is_open())
    co_await refuse_plaintext(socket, deadline, plaintext_refusal);
  asio::error_code ignored;
  socket.close(ignored);
  co_return std::nullopt;
}

}  // namespace chat::server
