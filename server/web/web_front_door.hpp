#pragma once
// The web listener's connections: HTTP/1.1 with keep-alive for the browser client's files, and
// the WebSocket upgrade at /ws, after which the connection is a Session speaking chat.v1 through a
// WebSocketCodec. Until the upgrade, each request must arrive within handshake_timeout_ms.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>
#include <string>

#include "acceptor.hpp"
#include "web_router.hpp"

namespace chat {
class TlsContext;
}

namespace chat::server {

class Shard;

asio::awaitable<void> serve_web(Shard& shard, asio::ip::tcp::socket socket,
                                std::shared_ptr<TlsContext> tls, const WebRouter& router);

// The front door an Acceptor of the web listener uses; router must outlive it.
FrontDoor web_front_door(const WebRouter& router);

}  // namespace chat::server
