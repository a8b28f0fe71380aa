#include "websocket_handshake.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace chat::server {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The comma-separated tokens of every header with this name, in order.
std::vector<std::string_view> tokens_of(const HttpRequest& request, std::string_view name) {
  std::vector<std::string_view> tokens;
  for (const auto& [header, value] : request.headers) {
    if (!iequals(header, name)) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto token = trim(rest.substr(0, comma));
      if (!token.empty()) tokens.push_back(token);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return tokens;
}

bool has_token(const HttpRequest& request, std::string_view name, std::string_view wanted) {
  const auto tokens = tokens_of(request, name);
  return std::any_of(tokens.begin(), tokens.end(),
                     [&](std::string_view token) { return iequals(token, wanted); });
}

// A key is the base64 form of 16 bytes: 24 characters ending in "==".
bool is_valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  std::array<unsigned char, 18> decoded{};
  const int n = EVP_DecodeBlock(decoded.data(), reinterpret_cast<const unsigned char*>(key.data()),
                                static_cast<int>(key.size()));
  return n == 18;  // 16 bytes and the two padding bytes EVP_DecodeBlock counts
}

HandshakeRefusal refuse(int status, std::string reason) { return {status, std::move(reason)}; }

// The host of a Host header, without its port: "[::1]:8080" -> "::1", "a.b:80" -> "a.b".
std::string host_name(std::string_view host) {
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    return std::string(host.substr(1, close == std::string_view::npos ? 0 : close - 1));
  }
  return std::string(host.substr(0, host.find(':')));
}

bool ends_with_ignoring_case(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && iequals(text.substr(text.size() - suffix.size()), suffix);
}

// A host no DNS answer can stand for: an IP address or localhost. A page served under any other
// name may be an attacker's name that resolves to this listener (DNS rebinding), so only the
// operator can vouch for it, in web_origins.
bool names_this_machine(std::string_view host) {
  const std::string name = host_name(host);
  std::array<unsigned char, 16> address{};
  return inet_pton(AF_INET, name.c_str(), address.data()) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address.data()) == 1 || iequals(name, "localhost") ||
         ends_with_ignoring_case(name, ".localhost");
}

}  // namespace

bool OriginPolicy::allows(std::string_view origin, std::string_view host) const {
  if (!allowed.empty())
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const std::string& entry) { return iequals(entry, origin); });
  if (host.empty() || !names_this_machine(host)) return false;
  std::string own(tls ? "https://" : "http://");
  own.append(host);
  return iequals(origin, own);
}

bool wants_websocket(const HttpRequest& request) {
  return has_token(request, "Upgrade", "websocket");
}

HandshakeOutcome check_websocket_upgrade(const HttpRequest& request, const OriginPolicy& origins) {
  if (request.method != "GET") return refuse(400, "a WebSocket upgrade must be a GET");
  if (request.version_minor < 1) return refuse(400, "a WebSocket upgrade needs HTTP/1.1");
  if (!wants_websocket(request)) return refuse(400, "expected Upgrade: websocket");
  if (!has_token(request, "Connection", "upgrade"))
    return refuse(400, "expected Connection: Upgrade");
  const std::string* host = request.header("Host");
  if (host == nullptr) return refuse(400, "missing Host");
  const std::string* version = request.header("Sec-WebSocket-Version");
  if (version == nullptr || *version != "13")
    return refuse(426, "only WebSocket version 13 is spoken");
  const std::string* key = request.header("Sec-WebSocket-Key");
  if (key == nullptr || !is_valid_key(*key))
    return refuse(400, "Sec-WebSocket-Key must be 16 bytes in base64");
  if (const std::string* origin = request.header("Origin");
      origin != nullptr && !origins.allows(*origin, *host))
    return refuse(403, "origin not allowed: " + *origin);
  for (const std::string_view protocol : tokens_of(request, "Sec-WebSocket-Protocol")) {
    if (protocol == "chat.v1")
      return WebSocketUpgrade{WebSocketFormat::binary, "chat.v1", websocket_accept_key(*key)};
    if (protocol == "chat.v1.json")
      return WebSocketUpgrade{WebSocketFormat::json, "chat.v1.json", websocket_accept_key(*key)};
  }
  return refuse(400, "Sec-WebSocket-Protocol must offer chat.v1 or chat.v1.json");
}

std::string websocket_accept_key(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input += guid;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  std::array<unsigned char, 32> encoded{};  // 4 * ceil(20 / 3) = 28, plus the NUL
  const int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest.size()));
  return std::string(reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(n));
}

}  // namespace chat::server
