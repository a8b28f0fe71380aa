#include "http_endpoint.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>
#include <atomic>
#include <iterator>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "host_port.hpp"
#include "http_status.hpp"
#include "logging.hpp"
#include "socket_deadline.hpp"

namespace chat::server {
namespace {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

HttpResponse text_response(int status, std::string body) {
  return {.status = status, .body = std::move(body) + "\n"};
}

bool is_valid(const HttpResponse& response) {
  return response.status >= 200 && response.status <= 599 &&
         response.content_type.find_first_of("\r\n") == std::string::npos;
}

std::string format_head(const HttpResponse& response) {
  std::string head =
      fmt::format("HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
  if (!response.content_type.empty())
    fmt::format_to(std::back_inserter(head), "Content-Type: {}\r\n", response.content_type);
  if (response.status == 405) head += "Allow: GET, HEAD\r\n";
  fmt::format_to(std::back_inserter(head), "Content-Length: {}\r\nConnection: close\r\n\r\n",
                 response.body.size());
  return head;
}

struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)), deadline(socket) {}

  void abort() {
    asio::error_code ignored;
    socket.close(ignored);
    deadline.cancel();
  }

  tcp::socket socket;
  SocketDeadline deadline;  // closes the socket, which ends whatever the connection waits for
};

}  // namespace

struct HttpEndpoint::Listener : std::enable_shared_from_this<Listener> {
  Listener(asio::io_context& io, HttpHandler h, HttpEndpointLimits l)
      : acceptor(io), backoff(io), handler(std::move(h)), limits(l) {}

  asio::awaitable<void> accept_loop();
  void spawn_serve(tcp::socket socket);
  asio::awaitable<void> serve(std::shared_ptr<Connection> connection);
  asio::awaitable<HttpResponse> answer(const HttpRequestParser& parser);
  void close();

  tcp::acceptor acceptor;
  asio::steady_timer backoff;
  HttpHandler handler;
  HttpEndpointLimits limits;
  std::unordered_set<Connection*> open;  // each removed when its serve() ends
  std::atomic<std::uint64_t> refused{0};
};

asio::awaitable<void> HttpEndpoint::Listener::accept_loop() {
  while (acceptor.is_open()) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
    if (ec) {
      spdlog::error("http endpoint: accept failed: {} (backing off 100 ms)", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (open.size() >= limits.max_connections) {
      refused.fetch_add(1, std::memory_order_relaxed);
      asio::error_code ignored;
      socket.close(ignored);
      continue;
    }
    spawn_serve(std::move(socket));
  }
}

void HttpEndpoint::Listener::spawn_serve(tcp::socket socket) {
  // Registered here rather than in serve(), so the count is right for the very next accept.
  auto connection = std::make_shared<Connection>(std::move(socket));
  open.insert(connection.get());
  asio::co_spawn(acceptor.get_executor(), serve(connection),
                 [self = shared_from_this(), connection](std::exception_ptr error) {
                   self->open.erase(connection.get());
                   if (error)
                     spdlog::error("http endpoint: connection failed: {}",
                                   describe_exception(error));
                 });
}

asio::awaitable<void> HttpEndpoint::Listener::serve(std::shared_ptr<Connection> connection) {
  tcp::socket& socket = connection->socket;
  connection->deadline.expires_after(limits.timeout);
  HttpRequestParser parser;
  std::array<char, 2048> buffer;
  bool received = false;
  while (parser.status() == HttpParseStatus::need_more) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), use_tuple);
    if (ec == asio::error::eof && received) {
      parser.finish();  // a client that half-closed after part of a head still gets its 400
    } else if (ec) {
      co_return;  // gone, out of time, or the endpoint is closing
    } else {
      received = true;
      parser.feed(std::string_view(buffer.data(), n));
    }
  }

  const HttpResponse response = co_await answer(parser);
  const bool head_only =
      parser.status() == HttpParseStatus::complete && parser.request().method == "HEAD";
  const std::string head = format_head(response);
  connection->deadline.expires_after(limits.timeout);
  const std::array<asio::const_buffer, 2> buffers{
      asio::buffer(head), asio::buffer(response.body.data(), head_only ? 0 : response.body.size())};
  if (auto [ec, n] = co_await asio::async_write(socket, buffers, use_tuple); ec) co_return;

  // Half-close, then read until the client closes: closing with unread input in the socket
  // would send a reset, which can destroy the answer before the client has read it.
  asio::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), use_tuple);
    if (ec) break;
  }
  connection->abort();
}

asio::awaitable<HttpResponse> HttpEndpoint::Listener::answer(const HttpRequestParser& parser) {
  if (parser.status() == HttpParseStatus::error)
    co_return text_response(parser.error_status(), parser.error_reason());
  const HttpRequest& request = parser.request();
  if (request.method != "GET" && request.method != "HEAD")
    co_return text_response(405, "only GET and HEAD are served");
  std::string failure;
  try {
    HttpResponse response = co_await handler(request);
    if (is_valid(response)) co_return response;
    failure = fmt::format("invalid response (status {})", response.status);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  spdlog::error("http endpoint: handler for {} failed: {}", request.path, failure);
  co_return text_response(500, "internal server error");
}

void HttpEndpoint::Listener::close() {
  asio::error_code ignored;
  acceptor.close(ignored);
  backoff.cancel();
  for (Connection* connection : open) connection->abort();
}

HttpEndpoint::HttpEndpoint(asio::io_context& io, std::string_view address, HttpHandler handler,
                           HttpEndpointLimits limits)
    : listener_(std::make_shared<Listener>(io, std::move(handler), limits)) {
  const auto where = parse_host_port(address);
  if (!where)
    throw std::runtime_error(fmt::format("cannot listen on '{}': not HOST:PORT", address));
  asio::error_code ec;
  const auto ip = asio::ip::make_address(where->host, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot listen on {}: not an IP address", address));
  const tcp::endpoint endpoint(ip, where->port);
  tcp::acceptor& acceptor = listener_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot listen on {}: {}", address, ec.message()));
  port_ = acceptor.local_endpoint().port();
}

HttpEndpoint::~HttpEndpoint() { close(); }

void HttpEndpoint::start() {
  asio::co_spawn(listener_->acceptor.get_executor(), listener_->accept_loop(),
                 [listener = listener_](std::exception_ptr error) {
                   if (error)
                     spdlog::error("http endpoint: accept loop failed: {}",
                                   describe_exception(error));
                 });
}

void HttpEndpoint::close() { listener_->close(); }

std::uint64_t HttpEndpoint::connections_refused() const {
  return listener_->refused.load(std::memory_order_relaxed);
}

}  // namespace chat::server
