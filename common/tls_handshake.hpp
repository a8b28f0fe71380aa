#pragma once
// Runs a TLS handshake over a connected socket, for either side. The caller bounds it in time (by
// closing the socket at its deadline).

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <string>

#include "tls_channel.hpp"

namespace chat {

struct TlsHandshakeResult {
  bool ok = false;
  bool peer_sent_plaintext = false;  // the first bytes from the peer were not TLS
  std::string failure;               // why not, in one line
  std::string early_plaintext;       // application data that came with the handshake's end
};

asio::awaitable<TlsHandshakeResult> tls_handshake(asio::ip::tcp::socket& socket,
                                                  TlsChannel& channel);

}  // namespace chat
