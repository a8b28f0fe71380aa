// An HttpEndpoint on its own io_context thread, spoken to over real sockets by client coroutines
// that run with a deadline.
#include <doctest/doctest.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "coroutine_test.hpp"
#include "http_endpoint.hpp"

using namespace chat::server;
using chat::test::run_coroutine_test;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<HttpResponse> test_handler(const HttpRequest& request) {
  if (request.path == "/boom") throw std::runtime_error("the handler failed");
  if (request.path == "/echo")
    co_return HttpResponse{.body = request.method + " " + request.path + " " + request.query};
  if (request.path == "/metrics")
    co_return HttpResponse{.content_type = "text/plain; version=0.0.4", .body = "up 1\n"};
  co_return HttpResponse{.status = 404, .body = "no such page\n"};
}

// The endpoint and the thread that runs its io_context. Closing it lets run() return: the accept
// loop and every connection end, so the join proves nothing was left behind.
class RunningEndpoint {
 public:
  explicit RunningEndpoint(HttpEndpointLimits limits = {})
      : endpoint_(io_, "127.0.0.1:0", test_handler, limits) {
    endpoint_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningEndpoint() {
    asio::post(io_, [this] { endpoint_.close(); });
    thread_.join();
  }

  std::uint16_t port() const { return endpoint_.port(); }
  const HttpEndpoint& endpoint() const { return endpoint_; }

 private:
  asio::io_context io_;
  HttpEndpoint endpoint_;
  std::thread thread_;
};

asio::awaitable<tcp::socket> connect(asio::io_context& io, std::uint16_t port) {
  tcp::socket socket(io);
  co_await socket.async_connect({asio::ip::address_v4::loopback(), port}, asio::use_awaitable);
  co_return socket;
}

// Everything the endpoint sends until it closes the connection.
asio::awaitable<std::string> read_to_end(tcp::socket& socket) {
  std::string received;
  std::array<char, 4096> buffer;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), use_tuple);
    received.append(buffer.data(), n);
    if (ec) co_return received;
  }
}

asio::awaitable<std::string> exchange(asio::io_context& io, std::uint16_t port,
                                      std::string request) {
  auto socket = co_await connect(io, port);
  co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
  co_return co_await read_to_end(socket);
}

struct Reply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;

  bool has_header(std::string_view line) const {
    return head.find("\r\n" + std::string(line) + "\r\n") != std::string::npos;
  }
};

Reply parse_reply(const std::string& text) {
  Reply reply;
  const auto end = text.find("\r\n\r\n");
  REQUIRE_MESSAGE(end != std::string::npos, "no complete response head in: ", text);
  REQUIRE(text.starts_with("HTTP/1.1 "));
  reply.status = std::stoi(text.substr(9, 3));
  reply.head = text.substr(0, end + 2);
  reply.body = text.substr(end + 4);
  CHECK(reply.has_header("Connection: close"));
  return reply;
}

}  // namespace

TEST_CASE("the HTTP endpoint answers one request per connection") {
  RunningEndpoint server;
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    const auto metrics =
        parse_reply(co_await exchange(io, server.port(), "GET /metrics HTTP/1.1\r\n\r\n"));
    CHECK(metrics.status == 200);
    CHECK(metrics.has_header("Content-Type: text/plain; version=0.0.4"));
    CHECK(metrics.has_header("Content-Length: 5"));
    CHECK(metrics.body == "up 1\n");

    const auto echo =
        parse_reply(co_await exchange(io, server.port(), "GET /echo?a=1 HTTP/1.0\nHost: x\n\n"));
    CHECK(echo.status == 200);
    CHECK(echo.body == "GET /echo a=1");

    const auto head =
        parse_reply(co_await exchange(io, server.port(), "HEAD /metrics HTTP/1.1\r\n\r\n"));
    CHECK(head.status == 200);
    CHECK(head.has_header("Content-Length: 5"));
    CHECK(head.body.empty());

    const auto missing =
        parse_reply(co_await exchange(io, server.port(), "GET /x HTTP/1.1\r\n\r\n"));
    CHECK(missing.status == 404);
    CHECK(missing.body == "no such page\n");
  });
}

TEST_CASE("the HTTP endpoint refuses what it does not serve") {
  RunningEndpoint server;
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    const auto post = parse_reply(co_await exchange(
        io, server.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"));
    CHECK(post.status == 405);
    CHECK(post.has_header("Allow: GET, HEAD"));

    const auto garbage =
        parse_reply(co_await exchange(io, server.port(), "\x16\x03\x01 not http at all\r\n\r\n"));
    CHECK(garbage.status == 400);
    CHECK(garbage.body == "malformed request line\n");

    // More than fits in a head, sent in full before reading: the endpoint drains what it does
    // not read, so its answer is not lost to a connection reset.
    const std::string huge = "GET / HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'x') + "\r\n\r\n";
    const auto oversized = parse_reply(co_await exchange(io, server.port(), huge));
    CHECK(oversized.status == 431);

    const auto long_target = parse_reply(co_await exchange(
        io, server.port(), "GET /" + std::string(3000, 'a') + " HTTP/1.1\r\n\r\n"));
    CHECK(long_target.status == 414);

    const auto version =
        parse_reply(co_await exchange(io, server.port(), "GET / HTTP/2.0\r\n\r\n"));
    CHECK(version.status == 505);

    const auto failing =
        parse_reply(co_await exchange(io, server.port(), "GET /boom HTTP/1.1\r\n\r\n"));
    CHECK(failing.status == 500);
    CHECK(failing.body == "internal server error\n");
  });
}

TEST_CASE("the HTTP endpoint answers a head cut short by the client, and times out a silent one") {
  RunningEndpoint server(HttpEndpointLimits{.timeout = std::chrono::milliseconds(200)});
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto half = co_await connect(io, server.port());
    co_await asio::async_write(half, asio::buffer(std::string_view("GET /metrics HT")),
                               asio::use_awaitable);
    half.shutdown(tcp::socket::shutdown_send);
    const auto truncated = parse_reply(co_await read_to_end(half));
    CHECK(truncated.status == 400);

    auto silent = co_await connect(io, server.port());
    CHECK((co_await read_to_end(silent)).empty());  // closed at the deadline, unanswered
  });
}

TEST_CASE("the HTTP endpoint closes connections beyond its limit") {
  RunningEndpoint server(HttpEndpointLimits{.max_connections = 2});
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto first = co_await connect(io, server.port());
    auto second = co_await connect(io, server.port());
    // Accepted in order, so the first two hold both places when the third arrives.
    auto third = co_await connect(io, server.port());
    CHECK((co_await read_to_end(third)).empty());
    CHECK(server.endpoint().connections_refused() == 1);

    co_await asio::async_write(first, asio::buffer(std::string_view("GET /metrics HTTP/1.1\n\n")),
                               asio::use_awaitable);
    CHECK(parse_reply(co_await read_to_end(first)).status == 200);
    first.close();
    second.close();
    // The places free up once the endpoint has seen both close; until then it may refuse.
    for (;;) {
      const auto reply = co_await exchange(io, server.port(), "GET /metrics HTTP/1.1\n\n");
      if (!reply.empty()) {
        CHECK(parse_reply(reply).status == 200);
        break;
      }
    }
  });
}

TEST_CASE("closing the HTTP endpoint ends its open connections") {
  auto server = std::make_unique<RunningEndpoint>();
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto idle = co_await connect(io, server->port());
    auto partial = co_await connect(io, server->port());
    co_await asio::async_write(partial, asio::buffer(std::string_view("GET / HTTP/1.1\r\n")),
                               asio::use_awaitable);
    server.reset();  // closes on the endpoint's thread and joins it
    CHECK((co_await read_to_end(idle)).empty());
    CHECK((co_await read_to_end(partial)).empty());
  });
}

TEST_CASE("the HTTP endpoint says which address it could not listen on") {
  asio::io_context io;
  auto handler = [](const HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse{};
  };
  CHECK_THROWS_WITH_AS(HttpEndpoint(io, "nonsense", handler),
                       "cannot listen on 'nonsense': not HOST:PORT", std::runtime_error);
  CHECK_THROWS_WITH_AS(HttpEndpoint(io, "localhost:0", handler),
                       "cannot listen on localhost:0: not an IP address", std::runtime_error);
  HttpEndpoint taken(io, "127.0.0.1:0", handler);
  const std::string address = "127.0.0.1:" + std::to_string(taken.port());
  CHECK_THROWS_WITH_AS(HttpEndpoint(io, address, handler),
                       ("cannot listen on " + address + ": Address already in use").c_str(),
                       std::runtime_error);
}
