#pragma once
// An HTTP/1.x request head and its parser, free of I/O: the parser is fed whatever a read returned
// and says "need more", "complete" or "error" (with the status to answer). Bodies are not read:
// the endpoint serves GET and HEAD only.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat::server {

struct HttpRequest {
  std::string method;     // case-sensitive, as sent ("GET")
  std::string path;       // the target up to '?', not percent-decoded
  std::string query;      // after '?', empty when there is none
  int version_minor = 1;  // HTTP/1.0 or HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;  // values without surrounding spaces

  // The first header with this name (compared case-insensitively), or nullptr.
  const std::string* header(std::string_view name) const;
};

enum class HttpParseStatus { need_more, complete, error };

class HttpRequestParser {
 public:
  static constexpr std::size_t max_target_bytes = 2 * 1024;
  // The head up to, not including, the blank line that ends it.
  static constexpr std::size_t max_head_bytes = 8 * 1024;

  // Takes the next bytes of the stream. Lines may end in CRLF or LF. Errors are found at the byte
  // that causes them, so the outcome does not depend on how the stream was split into reads. Once
  // complete or in error, the parser stays so and ignores what it is fed (a body, say).
  HttpParseStatus feed(std::string_view bytes);
  // How many bytes of the last feed() belong to the head: what follows is the next protocol's
  // (a WebSocket client's first frames).
  std::size_t used_of_last_feed() const { return used_of_last_feed_; }
  // The stream ended: a head still incomplete is an error (400).
  HttpParseStatus finish();

  HttpParseStatus status() const { return status_; }
  // When complete.
  const HttpRequest& request() const { return request_; }
  // When in error: the status to answer (400, 414, 431 or 505) and a one-line reason.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  // Where the request line is, for the checks made byte by byte before it ends.
  enum class RequestLinePart { method, target, rest };

  void take_byte(char c);
  void check_request_line_byte(char c);
  void end_line();
  void parse_request_line(std::string_view line);
  void parse_header(std::string_view line);
  void fail(int status, std::string reason);

  HttpParseStatus status_ = HttpParseStatus::need_more;
  std::size_t used_of_last_feed_ = 0;
  std::string line_;          // the line being received, without its LF
  std::size_t received_ = 0;  // bytes of the head so far
  bool have_request_line_ = false;
  RequestLinePart part_ = RequestLinePart::method;
  std::size_t target_bytes_ = 0;
  HttpRequest request_;
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace chat::server
