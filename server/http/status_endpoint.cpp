#include "status_endpoint.hpp"

#include <spdlog/spdlog.h>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <optional>

#include "host_port.hpp"
#include "http_endpoint.hpp"
#include "metrics_page.hpp"
#include "server_context.hpp"

namespace chat::server {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr auto store_answer_timeout = std::chrono::seconds(2);

// Why the store cannot take writes now, or nullopt when it can.
asio::awaitable<std::optional<std::string>> store_problem(ServerContext& context) {
  struct Probe {
    explicit Probe(asio::any_io_executor executor) : done(std::move(executor)) {}
    asio::steady_timer done;
    std::optional<storage::WriteResult> result;
  };
  auto probe = std::make_shared<Probe>(co_await asio::this_coro::executor);
  probe->done.expires_after(store_answer_timeout);
  context.room_log->check_writable([probe](storage::WriteResult result) {
    asio::post(probe->done.get_executor(), [probe, result = std::move(result)]() mutable {
      probe->result = std::move(result);
      probe->done.cancel();
    });
  });
  if (!probe->result) co_await probe->done.async_wait(use_tuple);
  if (!probe->result) co_return "the store did not answer within 2 s";
  if (!probe->result->ok) co_return "the store cannot write: " + probe->result->error;
  co_return std::nullopt;
}

asio::awaitable<HttpResponse> answer(ServerContext& context, const HttpRequest& request) {
  if (request.path == "/healthz") co_return HttpResponse{.body = "ok\n"};
  if (request.path == "/readyz") {
    if (!context.accepting.load()) {
      co_return HttpResponse{.status = 503, .body = "not ready: not accepting clients\n"};
    }
    if (auto problem = co_await store_problem(context)) {
      co_return HttpResponse{.status = 503, .body = "not ready: " + *problem + "\n"};
    }
    co_return HttpResponse{.body = "ready\n"};
  }
  if (request.path == "/metrics") {
    // (GCC 12 destroys a co_await's result twice inside a braced initializer.)
    std::string body = co_await render_metrics(context);
    co_return HttpResponse{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                           .body = std::move(body)};
  }
  co_return HttpResponse{.status = 404, .body = "not found: try /metrics, /healthz or /readyz\n"};
}

}  // namespace

StatusEndpoint::StatusEndpoint(ServerContext& context, const std::string& address)
    : context_(context), io_(std::make_unique<asio::io_context>(1)) {
  host_ = parse_host_port(address).value_or(HostPort{}).host;
  endpoint_ = std::make_unique<HttpEndpoint>(
      *io_, address, [&context](const HttpRequest& request) { return answer(context, request); });
  endpoint_->start();
  thread_ = std::thread([this] { io_->run(); });
}

StatusEndpoint::~StatusEndpoint() { close(); }

std::uint16_t StatusEndpoint::port() const { return endpoint_->port(); }

std::string StatusEndpoint::address() const { return host_ + ":" + std::to_string(port()); }

void StatusEndpoint::close() {
  if (!thread_.joinable()) return;
  asio::post(*io_, [this] {
    endpoint_->close();
    io_->stop();
  });
  // Joined here, so no scrape reads the server's state once the caller starts tearing it down.
  thread_.join();
}

}  // namespace chat::server
