#pragma once
// A small HTTP/1.x server for metrics and health checks: one request per connection, answered by
// a coroutine handler, then the connection is closed. GET and HEAD only.

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http_request.hpp"

namespace asio {
class io_context;
}

namespace chat::server {

struct HttpResponse {
  int status = 200;  // 200-599; anything else is answered as 500
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called for GET and HEAD requests (for HEAD the body is not sent, its length is). An exception
// it throws is logged and answered with 500.
using HttpHandler = std::function<asio::awaitable<HttpResponse>(const HttpRequest&)>;

struct HttpEndpointLimits {
  // From the accept, to receive the request head and for the handler to answer; then again to
  // send the answer and see the client close. A connection out of time is closed.
  std::chrono::milliseconds timeout{5000};
  // Connections beyond this are closed as soon as they are accepted.
  std::size_t max_connections = 64;
};

// Everything but connections_refused() runs on the io_context's thread (or while it does not
// run), and the io_context must be run by one thread.
class HttpEndpoint {
 public:
  // Binds and listens at once on "HOST:PORT" (port 0: any free port); throws std::runtime_error
  // naming the address on failure. Accepting starts with start().
  HttpEndpoint(asio::io_context& io, std::string_view address, HttpHandler handler,
               HttpEndpointLimits limits = {});
  // Closes (see close()).
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  std::uint16_t port() const { return port_; }
  void start();
  // Stops accepting and closes the open connections; their coroutines end soon after, on the
  // io_context, without touching this object.
  void close();
  // Connections closed unanswered because max_connections were open. Any thread.
  std::uint64_t connections_refused() const;

 private:
  struct Listener;

  std::shared_ptr<Listener> listener_;  // shared with the coroutines, which may outlive this
  std::uint16_t port_ = 0;
};

}  // namespace chat::server
