#pragma once
// What a listener's connections speak: the chat.v1 port's sessions, or the web listener's HTTP and
// WebSocket. An Acceptor admits a connection and hands it to its front door's serve(); a refused
// connection gets refusal() as its last words, in the front door's own protocol.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

#include "admission.hpp"

namespace chat {
class TlsContext;
}

namespace chat::server {

class Shard;

struct FrontDoor {
  std::string name;  // for logs: "chat", "web"
  // Runs on the shard's thread; tls: the listener's context (nullptr: plain text).
  std::function<asio::awaitable<void>(Shard&, asio::ip::tcp::socket, std::shared_ptr<TlsContext>)>
      serve;
  std::function<std::string(const Refusal&)> refusal;
};

// "ADDRESS:PORT" of the socket's peer, or "unknown" once it is gone.
inline std::string peer_of(const asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? "unknown" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace chat::server
