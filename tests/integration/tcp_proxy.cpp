#include "tcp_proxy.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace chat::test {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

TcpProxy::TcpProxy(asio::io_context& io, std::uint16_t server_port)
    : io_(io),
      server_port_(server_port),
      acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}),
      unstalled_(io.get_executor()) {
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

TcpProxy::~TcpProxy() {
  asio::error_code ignored;
  acceptor_.close(ignored);
  drop_all();
}

void TcpProxy::drop_all() {
  for (auto& weak : links_) {
    if (auto link = weak.lock()) {
      asio::error_code ignored;
      link->client.close(ignored);
      link->server.close(ignored);
    }
  }
  links_.clear();
}

void TcpProxy::set_stalled(bool stalled) {
  stalled_ = stalled;
  if (!stalled) unstalled_.notify();
}

asio::awaitable<void> TcpProxy::accept_loop() {
  for (;;) {
    auto link = std::make_shared<Link>(io_);
    auto [error] = co_await acceptor_.async_accept(link->client, use_tuple);
    if (error) co_return;
    ++accepted_;
    if (refuse_new) continue;  // the link goes out of scope: closed
    // Small buffers, so that a stalled proxy soon looks like a slow reader to the server.
    link->server.open(asio::ip::tcp::v4());
    link->server.set_option(asio::socket_base::receive_buffer_size(16 * 1024));
    auto [connect_error] = co_await link->server.async_connect(
        {asio::ip::make_address("127.0.0.1"), server_port_}, use_tuple);
    if (connect_error) continue;
    links_.push_back(link);
    asio::co_spawn(io_, pump(link, true), asio::detached);
    asio::co_spawn(io_, pump(link, false), asio::detached);
  }
}

asio::awaitable<void> TcpProxy::pump(std::shared_ptr<Link> link, bool to_client) {
  auto& from = to_client ? link->server : link->client;
  auto& to = to_client ? link->client : link->server;
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    while (to_client && stalled_ && from.is_open()) co_await unstalled_.wait();
    auto [read_error, n] = co_await from.async_read_some(asio::buffer(buffer), use_tuple);
    if (read_error) break;
    if (to_client ? swallow_replies : swallow_requests) continue;
    auto [write_error, written] =
        co_await asio::async_write(to, asio::buffer(buffer, n), use_tuple);
    if (write_error) break;
  }
  asio::error_code ignored;
  to.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  if (!to_client) link->server.close(ignored);  // the client went: so does its server side
}

}  // namespace chat::test
