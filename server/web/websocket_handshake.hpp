#pragma once
// The server's side of the WebSocket opening handshake (RFC 6455, section 4.2), free of I/O: is
// this request a valid upgrade from an allowed origin, and which subprotocol does it get?

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http_request.hpp"
#include "origin_list.hpp"
#include "websocket_format.hpp"

namespace chat::server {

// Which pages may open a WebSocket: a browser always sends Origin, so a page of another site
// cannot drive a visitor's session. Clients that are not browsers send none and are let in.
struct OriginPolicy {
  // Exact origins ("https://chat.example.org"); empty: only the listener's own host, as the
  // request's Host header names it, with the listener's scheme, and only when that host is an IP
  // address or localhost (a page under a DNS name needs the name in the list).
  std::vector<std::string> allowed;
  bool tls = false;

  bool allows(std::string_view origin, std::string_view host) const;
};

struct WebSocketUpgrade {
  WebSocketFormat format;
  std::string protocol;    // "chat.v1" or "chat.v1.json"
  std::string accept_key;  // Sec-WebSocket-Accept
};

struct HandshakeRefusal {
  int status;  // 400, 403 or 426 (426 answers with Sec-WebSocket-Version: 13)
  std::string reason;
};

using HandshakeOutcome = std::variant<WebSocketUpgrade, HandshakeRefusal>;

// True when the request asks for an upgrade at all (Upgrade: websocket), valid or not.
bool wants_websocket(const HttpRequest& request);
HandshakeOutcome check_websocket_upgrade(const HttpRequest& request, const OriginPolicy& origins);

// base64(SHA-1(key + the RFC's GUID)).
std::string websocket_accept_key(std::string_view key);

}  // namespace chat::server
