#pragma once
// What the web listener answers to one HTTP request, free of I/O: the client's files (with their
// types, ETags and a strict Content-Security-Policy), or the WebSocket upgrade at /ws, or the
// error that says what was wrong with the request.

#include <optional>
#include <string>
#include <string_view>

#include "http_request.hpp"
#include "web_assets.hpp"
#include "websocket_handshake.hpp"

namespace chat::server {

struct WebAnswer {
  int status = 200;
  std::string head;  // status line and headers, up to and with the blank line
  bool keep_alive = false;
  std::optional<WebSocketUpgrade> upgrade;  // 101: the connection speaks WebSocket now

  std::string_view body() const { return asset_body.empty() ? error_body : asset_body; }
  // What goes on the wire: the head, then the body unless the request was a HEAD.
  std::string wire(bool head_only = false) const;
  std::string_view asset_body;  // an embedded file's bytes
  std::string error_body;
};

class WebRouter {
 public:
  static constexpr std::string_view websocket_path = "/ws";
  static constexpr std::string_view content_security_policy =
      "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
      "img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

  WebRouter(const WebAssets& assets, OriginPolicy origins)
      : assets_(assets), origins_(std::move(origins)) {}

  WebAnswer answer(const HttpRequest& request) const;
  // For a request the parser refused (400, 414, 431, 505): the connection closes after it.
  WebAnswer answer_unparsable(int status, std::string_view reason) const;
  // For a connection refused before its request was read (503, the admission's reason).
  static std::string refusal(std::string_view reason, std::uint32_t retry_after_ms);

 private:
  WebAnswer asset(const HttpRequest& request, const WebAsset& file, bool keep_alive) const;
  WebAnswer upgrade(const HttpRequest& request) const;

  const WebAssets& assets_;
  OriginPolicy origins_;
};

}  // namespace chat::server
