#include "web_router.hpp"

#include <fmt/format.h>

#include <iterator>

#include "http_status.hpp"

namespace chat::server {
namespace {

// Every answer's first lines: status, the security headers, and whether the connection stays.
std::string head_of(int status, bool keep_alive) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Security-Policy: {}\r\nX-Content-Type-Options: nosniff\r\n"
      "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\nConnection: {}\r\n",
      status, reason_phrase(status), WebRouter::content_security_policy,
      keep_alive ? "keep-alive" : "close");
}

WebAnswer error_answer(int status, std::string_view reason, bool keep_alive,
                       std::string_view extra_headers = {}) {
  WebAnswer answer;
  answer.status = status;
  answer.keep_alive = keep_alive;
  answer.error_body = fmt::format("{}\n", reason);
  answer.head = head_of(status, keep_alive);
  fmt::format_to(std::back_inserter(answer.head),
                 "Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n{}"
                 "Content-Length: {}\r\n\r\n",
                 extra_headers, answer.error_body.size());
  return answer;
}

bool wants_keep_alive(const HttpRequest& request) {
  const std::string* connection = request.header("Connection");
  if (request.version_minor == 0) return false;
  return connection == nullptr || connection->find("close") == std::string::npos;
}

}  // namespace

WebAnswer WebRouter::answer(const HttpRequest& request) const {
  const bool keep_alive = wants_keep_alive(request);
  if (request.path == websocket_path) return upgrade(request);
  if (request.method != "GET" && request.method != "HEAD")
    return error_answer(405, "only GET and HEAD are served", keep_alive, "Allow: GET, HEAD\r\n");
  if (request.version_minor == 1 && request.header("Host") == nullptr)
    return error_answer(400, "missing Host", false);
  const WebAsset* file = assets_.find(request.path);
  if (file == nullptr) return error_answer(404, "not found", keep_alive);
  return asset(request, *file, keep_alive);
}

WebAnswer WebRouter::asset(const HttpRequest& request, const WebAsset& file,
                           bool keep_alive) const {
  WebAnswer answer;
  const std::string* cached = request.header("If-None-Match");
  answer.status = cached != nullptr && *cached == file.etag ? 304 : 200;
  answer.keep_alive = keep_alive;
  answer.head = head_of(answer.status, keep_alive);
  // no-cache: the browser keeps the file but asks each time, and a 304 answers when unchanged.
  fmt::format_to(std::back_inserter(answer.head),
                 "Content-Type: {}\r\nCache-Control: no-cache\r\nETag: {}\r\n", file.content_type,
                 file.etag);
  if (answer.status == 304) {
    answer.head += "\r\n";
    return answer;
  }
  fmt::format_to(std::back_inserter(answer.head), "Content-Length: {}\r\n\r\n", file.body.size());
  if (request.method == "GET") answer.asset_body = file.body;
  return answer;
}

WebAnswer WebRouter::upgrade(const HttpRequest& request) const {
  HandshakeOutcome outcome = check_websocket_upgrade(request, origins_);
  if (auto* refusal = std::get_if<HandshakeRefusal>(&outcome)) {
    return error_answer(refusal->status, refusal->reason, false,
                        refusal->status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
  }
  auto& accepted = std::get<WebSocketUpgrade>(outcome);
  WebAnswer answer;
  answer.status = 101;
  answer.head = fmt::format(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {}\r\n\r\n",
      accepted.accept_key, accepted.protocol);
  answer.upgrade = std::move(accepted);
  return answer;
}

WebAnswer WebRouter::answer_unparsable(int status, std::string_view reason) const {
  return error_answer(status, reason, false);
}

std::string WebRouter::refusal(std::string_view reason, std::uint32_t retry_after_ms) {
  const std::string retry_after = fmt::format("Retry-After: {}\r\n", (retry_after_ms + 999) / 1000);
  return error_answer(503, reason, false, retry_after).wire();
}

std::string WebAnswer::wire(bool head_only) const {
  std::string bytes = head;
  if (!head_only) bytes += body();
  return bytes;
}

}  // namespace chat::server
