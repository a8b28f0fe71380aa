#pragma once
// The server's side of a TLS handshake on an accepted socket, bounded by handshake_timeout_ms,
// for any front end. A client that speaks plain text to the TLS port is sent the front end's
// refusal in plain text (its last words, then the connection closes).

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chat {
class TlsChannel;
class TlsContext;
}  // namespace chat

namespace chat::server {

class Shard;

struct TlsAccepted {
  std::unique_ptr<TlsChannel> channel;
  std::string early_plaintext;  // application data that came with the handshake's end
};

// nullopt when the handshake failed (counted and logged; the socket is closed).
asio::awaitable<std::optional<TlsAccepted>> accept_tls(Shard& shard, asio::ip::tcp::socket& socket,
                                                       std::shared_ptr<TlsContext> context,
                                                       const std::string& peer,
                                                       std::string_view plaintext_refusal);

}  // namespace chat::server
