// The web listener's answers without sockets: the WebSocket handshake's checks, the files with
// their headers, and the errors.
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "http_request.hpp"
#include "web_assets.hpp"
#include "web_router.hpp"
#include "websocket_handshake.hpp"

namespace {

using namespace chat::server;

HttpRequest parse(const std::string& head) {
  HttpRequestParser parser;
  REQUIRE(parser.feed(head) == HttpParseStatus::complete);
  return parser.request();
}

std::string upgrade_head(const std::string& extra = "",
                         const std::string& protocol = "chat.v1.json",
                         const std::string& key = "dGhlIHNhbXBsZSBub25jZQ==",
                         const std::string& version = "13",
                         const std::string& host = "127.0.0.1:8080") {
  return "GET /ws HTTP/1.1\r\nHost: " + host +
         "\r\nUpgrade: websocket\r\n"
         "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " +
         key + "\r\nSec-WebSocket-Version: " + version + "\r\nSec-WebSocket-Protocol: " + protocol +
         "\r\n" + extra + "\r\n";
}

int refusal_status(const HandshakeOutcome& outcome) {
  const auto* refusal = std::get_if<HandshakeRefusal>(&outcome);
  return refusal ? refusal->status : 0;
}

const EmbeddedFile test_files[] = {
    {"/index.html", "<!doctype html><title>chat</title>"},
    {"/app.js", "console.log(1)"},
    {"/app.css", "body{}"},
};

bool has_header(const WebAnswer& answer, const std::string& line) {
  return answer.head.find("\r\n" + line + "\r\n") != std::string::npos;
}

}  // namespace

TEST_CASE("the accept key is the RFC 6455 example's") {
  CHECK(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("a valid upgrade gets the subprotocol the client offered first that the server speaks") {
  const OriginPolicy origins;
  auto json = check_websocket_upgrade(parse(upgrade_head()), origins);
  REQUIRE(std::holds_alternative<WebSocketUpgrade>(json));
  CHECK(std::get<WebSocketUpgrade>(json).format == WebSocketFormat::json);
  CHECK(std::get<WebSocketUpgrade>(json).accept_key == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  auto binary =
      check_websocket_upgrade(parse(upgrade_head("", "mqtt, chat.v1, chat.v1.json")), origins);
  REQUIRE(std::holds_alternative<WebSocketUpgrade>(binary));
  CHECK(std::get<WebSocketUpgrade>(binary).protocol == "chat.v1");
}

TEST_CASE("a bad upgrade is refused with the status RFC 6455 asks for") {
  const OriginPolicy origins;
  CHECK(refusal_status(check_websocket_upgrade(parse(upgrade_head("", "mqtt")), origins)) == 400);
  CHECK(refusal_status(check_websocket_upgrade(
            parse(upgrade_head("", "chat.v1", "dGhlIHNhbXBsZSBub25jZQ")), origins)) == 400);
  CHECK(refusal_status(check_websocket_upgrade(
            parse(upgrade_head("", "chat.v1", "!!!!!!!!!!!!!!!!!!!!!!==")), origins)) == 400);
  CHECK(refusal_status(check_websocket_upgrade(
            parse(upgrade_head("", "chat.v1", "dGhlIHNhbXBsZSBub25jZQ==", "8")), origins)) == 426);
  CHECK(
      refusal_status(check_websocket_upgrade(
          parse("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
          origins)) == 400);
  CHECK(
      refusal_status(check_websocket_upgrade(
          parse("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
          origins)) == 400);
  CHECK(
      refusal_status(check_websocket_upgrade(
          parse("POST /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
          origins)) == 400);
}

TEST_CASE("Origin: the listener's own IP or localhost host by default, or the configured list") {
  const OriginPolicy own;
  CHECK(std::holds_alternative<WebSocketUpgrade>(
      check_websocket_upgrade(parse(upgrade_head("Origin: http://127.0.0.1:8080\r\n")), own)));
  CHECK(refusal_status(check_websocket_upgrade(
            parse(upgrade_head("Origin: http://evil.example\r\n")), own)) == 403);
  CHECK(refusal_status(check_websocket_upgrade(
            parse(upgrade_head("Origin: https://127.0.0.1:8080\r\n")), own)) == 403);
  CHECK(refusal_status(check_websocket_upgrade(parse(upgrade_head("Origin: null\r\n")), own)) ==
        403);
  CHECK(std::holds_alternative<WebSocketUpgrade>(check_websocket_upgrade(
      parse(upgrade_head("Origin: http://localhost:8080\r\n", "chat.v1.json",
                         "dGhlIHNhbXBsZSBub25jZQ==", "13", "localhost:8080")),
      own)));
  CHECK(std::holds_alternative<WebSocketUpgrade>(
      check_websocket_upgrade(parse(upgrade_head("Origin: http://[::1]:8080\r\n", "chat.v1.json",
                                                 "dGhlIHNhbXBsZSBub25jZQ==", "13", "[::1]:8080")),
                              own)));
  // A DNS name may be an attacker's that resolves here (DNS rebinding): same origin is not enough.
  CHECK(refusal_status(check_websocket_upgrade(
            parse(upgrade_head("Origin: http://rebound.example:8080\r\n", "chat.v1.json",
                               "dGhlIHNhbXBsZSBub25jZQ==", "13", "rebound.example:8080")),
            own)) == 403);
  const OriginPolicy named{.allowed = {"http://chat.example.org:8080"}};
  CHECK(std::holds_alternative<WebSocketUpgrade>(check_websocket_upgrade(
      parse(upgrade_head("Origin: http://chat.example.org:8080\r\n", "chat.v1.json",
                         "dGhlIHNhbXBsZSBub25jZQ==", "13", "chat.example.org:8080")),
      named)));
  const OriginPolicy tls{.allowed = {}, .tls = true};
  CHECK(std::holds_alternative<WebSocketUpgrade>(
      check_websocket_upgrade(parse(upgrade_head("Origin: https://127.0.0.1:8080\r\n")), tls)));
  const OriginPolicy listed{.allowed =
                                chat::parse_origin_list("https://chat.example.org/, http://a:1")};
  CHECK(listed.allowed.size() == 2);
  CHECK(std::holds_alternative<WebSocketUpgrade>(check_websocket_upgrade(
      parse(upgrade_head("Origin: https://chat.example.org\r\n")), listed)));
  CHECK(refusal_status(check_websocket_upgrade(
            parse(upgrade_head("Origin: http://127.0.0.1:8080\r\n")), listed)) == 403);
}

TEST_CASE("files are served with their type, an ETag, no-cache and the security headers") {
  const WebAssets assets(test_files);
  const WebRouter router(assets, OriginPolicy{});
  const WebAnswer page = router.answer(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  CHECK(page.status == 200);
  CHECK(page.body() == "<!doctype html><title>chat</title>");
  CHECK(page.keep_alive);
  CHECK(has_header(page, "Content-Type: text/html; charset=utf-8"));
  CHECK(has_header(page, "Cache-Control: no-cache"));
  CHECK(has_header(page, "X-Content-Type-Options: nosniff"));
  CHECK(has_header(page,
                   "Content-Security-Policy: " + std::string(WebRouter::content_security_policy)));
  CHECK(has_header(page, "Content-Length: 34"));
  CHECK(WebRouter::content_security_policy.find("unsafe") == std::string_view::npos);
  CHECK(has_header(router.answer(parse("GET /app.js HTTP/1.1\r\nHost: h\r\n\r\n")),
                   "Content-Type: text/javascript; charset=utf-8"));
  CHECK(has_header(router.answer(parse("GET /app.css HTTP/1.1\r\nHost: h\r\n\r\n")),
                   "Content-Type: text/css; charset=utf-8"));

  const std::string etag = assets.find("/")->etag;
  const WebAnswer cached =
      router.answer(parse("GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: " + etag + "\r\n\r\n"));
  CHECK(cached.status == 304);
  CHECK(cached.body().empty());
  const WebAnswer head = router.answer(parse("HEAD /app.js HTTP/1.1\r\nHost: h\r\n\r\n"));
  CHECK(head.status == 200);
  CHECK(head.body().empty());
  CHECK(has_header(head, "Content-Length: 14"));
}

TEST_CASE("unknown paths, other methods, HTTP/1.0 and Connection: close") {
  const WebAssets assets(test_files);
  const WebRouter router(assets, OriginPolicy{});
  const WebAnswer missing = router.answer(parse("GET /secret HTTP/1.1\r\nHost: h\r\n\r\n"));
  CHECK(missing.status == 404);
  CHECK(missing.keep_alive);
  const WebAnswer post = router.answer(parse("POST / HTTP/1.1\r\nHost: h\r\n\r\n"));
  CHECK(post.status == 405);
  CHECK(has_header(post, "Allow: GET, HEAD"));
  CHECK(router.answer(parse("GET / HTTP/1.1\r\n\r\n")).status == 400);  // no Host
  CHECK_FALSE(router.answer(parse("GET / HTTP/1.0\r\n\r\n")).keep_alive);
  CHECK_FALSE(
      router.answer(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")).keep_alive);
  const WebAnswer bad = router.answer_unparsable(431, "head too large");
  CHECK(bad.status == 431);
  CHECK_FALSE(bad.keep_alive);
  CHECK(bad.body() == "head too large\n");
}

TEST_CASE("/ws answers 101 with the accept key and subprotocol, or the handshake's error") {
  const WebAssets assets(test_files);
  const WebRouter router(assets, OriginPolicy{});
  const WebAnswer upgraded = router.answer(parse(upgrade_head()));
  CHECK(upgraded.status == 101);
  REQUIRE(upgraded.upgrade.has_value());
  CHECK(has_header(upgraded, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
  CHECK(has_header(upgraded, "Sec-WebSocket-Protocol: chat.v1.json"));
  const WebAnswer old =
      router.answer(parse(upgrade_head("", "chat.v1", "dGhlIHNhbXBsZSBub25jZQ==", "12")));
  CHECK(old.status == 426);
  CHECK(has_header(old, "Sec-WebSocket-Version: 13"));
  CHECK_FALSE(old.upgrade.has_value());
  CHECK(router.answer(parse("GET /ws HTTP/1.1\r\nHost: h\r\n\r\n")).status == 400);
}

TEST_CASE("a refused connection is told 503 with Retry-After") {
  const std::string refusal = WebRouter::refusal("too many connections", 1500);
  CHECK(refusal.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(refusal.find("\r\nRetry-After: 2\r\n") != std::string::npos);
  CHECK(refusal.ends_with("\r\n\r\ntoo many connections\n"));
}

TEST_CASE("content types by extension") {
  CHECK(content_type_of("/a/b.svg") == "image/svg+xml");
  CHECK(content_type_of("/x.bin") == "application/octet-stream");
  CHECK(content_type_of("/js") == "application/octet-stream");
}
