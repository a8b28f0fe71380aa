#include "http_request.hpp"

#include <algorithm>
#include <cctype>

namespace chat::server {
namespace {

// RFC 9110 tchar: what a method or a header name is made of.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower(x) == to_lower(y);
         });
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

std::string_view trim_spaces(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The path and query of an origin-form ("/a?b"), absolute-form ("http://host/a?b") or
// asterisk-form ("*") target; false for anything else.
bool split_target(std::string_view target, HttpRequest& request) {
  if (target.empty() || std::any_of(target.begin(), target.end(), is_control)) return false;
  // Single characters are assigned with assign(1, c): GCC 12 reports a false memcpy overlap
  // (-Wrestrict, GCC bug 105329) for a one-character literal assigned to a string here.
  if (target == "*") {
    request.path.assign(1, '*');
    return true;
  }
  bool absolute = false;
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      const auto path = target.find_first_of("/?", scheme.size());
      target = path == std::string_view::npos ? "/" : target.substr(path);
      absolute = true;
      break;
    }
  }
  if (target.front() != '/' && !(absolute && target.front() == '?')) return false;
  const auto question = target.find('?');
  request.path = target.substr(0, question);
  if (request.path.empty()) request.path.assign(1, '/');  // "http://host?query"
  if (question != std::string_view::npos) request.query = target.substr(question + 1);
  return true;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return &value;
  return nullptr;
}

HttpParseStatus HttpRequestParser::feed(std::string_view bytes) {
  used_of_last_feed_ = 0;
  for (const char c : bytes) {
    if (status_ != HttpParseStatus::need_more) break;
    take_byte(c);
    ++used_of_last_feed_;
  }
  return status_;
}

HttpParseStatus HttpRequestParser::finish() {
  if (status_ == HttpParseStatus::need_more) fail(400, "connection closed in the request head");
  return status_;
}

void HttpRequestParser::take_byte(char c) {
  ++received_;
  if (c == '\n') return end_line();
  if (!have_request_line_) {
    check_request_line_byte(c);
    if (status_ != HttpParseStatus::need_more) return;
  }
  // Past the limit only the CR of the final blank line may come (the blank line does not count).
  if (received_ > max_head_bytes && !(c == '\r' && line_.empty()))
    return fail(431, "request head longer than 8192 bytes");
  line_ += c;
}

// Refuses the request line as soon as it cannot be good: a method with a character no method has
// (a TLS handshake, say), or a target already too long.
void HttpRequestParser::check_request_line_byte(char c) {
  if (c == '\r') return;  // the line's end, or a stray CR that parsing the line refuses
  switch (part_) {
    case RequestLinePart::method:
      if (c == ' ' && !line_.empty()) {
        part_ = RequestLinePart::target;
      } else if (!is_token_char(c)) {
        fail(400, "malformed request line");
      }
      return;
    case RequestLinePart::target:
      if (c == ' ') {
        part_ = RequestLinePart::rest;
      } else if (++target_bytes_ > max_target_bytes) {
        fail(414, "request target longer than 2048 bytes");
      }
      return;
    case RequestLinePart::rest:
      return;
  }
}

void HttpRequestParser::end_line() {
  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (received_ > max_head_bytes && !(line.empty() && have_request_line_))
    return fail(431, "request head longer than 8192 bytes");
  if (line.empty()) {
    // The blank line ends the head; before the request line it is tolerated (RFC 9112, 2.2).
    if (have_request_line_) status_ = HttpParseStatus::complete;
  } else if (!have_request_line_) {
    have_request_line_ = true;
    parse_request_line(line);
  } else {
    parse_header(line);
  }
  line_.clear();
}

void HttpRequestParser::parse_request_line(std::string_view line) {
  const auto space = line.find(' ');
  const auto second_space = line.find(' ', space + 1);
  if (space == std::string_view::npos || second_space == std::string_view::npos ||
      !is_token(line.substr(0, space)))
    return fail(400, "malformed request line");
  const std::string_view target = line.substr(space + 1, second_space - space - 1);
  const std::string_view version = line.substr(second_space + 1);
  const bool digits = version.size() == 8 && version.starts_with("HTTP/") &&
                      std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
                      std::isdigit(static_cast<unsigned char>(version[7]));
  if (!digits) return fail(400, "malformed HTTP version");
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
    return fail(505, "HTTP version " + std::string(version.substr(5)) + " is not supported");
  request_.method = line.substr(0, space);
  request_.version_minor = version[7] - '0';
  if (!split_target(target, request_)) return fail(400, "malformed request target");
}

void HttpRequestParser::parse_header(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t')
    return fail(400, "folded header line");  // obsolete line folding, refused (RFC 9112, 5.2)
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
    return fail(400, "malformed header line");
  const std::string_view value = trim_spaces(line.substr(colon + 1));
  if (std::any_of(value.begin(), value.end(), [](char c) { return c != '\t' && is_control(c); }))
    return fail(400, "control character in a header value");
  request_.headers.emplace_back(line.substr(0, colon), value);
}

void HttpRequestParser::fail(int status, std::string reason) {
  status_ = HttpParseStatus::error;
  error_status_ = status;
  error_reason_ = std::move(reason);
  line_ = {};
}

}  // namespace chat::server
