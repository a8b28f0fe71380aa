#include "acceptor.hpp"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "logging.hpp"
#include "shard.hpp"

namespace chat::server {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

void log_if_failed(const char* what, std::exception_ptr error) {
  if (error) spdlog::error("{} failed: {}", what, describe_exception(error));
}

}  // namespace

AdmissionLimits admission_limits(const ServerConfig& config) {
  const std::uint64_t budget = config.memory_budget_mb > 0
                                   ? std::uint64_t{config.memory_budget_mb} * 1024 * 1024
                                   : default_memory_budget();
  return {config.max_connections, config.max_connections_per_address, budget};
}

Acceptor::Acceptor(ServerContext& context, asio::io_context& io, const ListenAddress& address,
                   Admission& admission, FrontDoor front_door, std::shared_ptr<TlsContext> tls)
    : context_(context),
      io_(io),
      acceptor_(io),
      backoff_(io),
      admission_(admission),
      front_door_(std::move(front_door)),
      tls_(std::move(tls)),
      accept_bucket_(context.config.accepts_per_second, context.config.accept_burst) {
  asio::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) throw std::runtime_error("cannot listen on " + address.host + ": not an IP address");
  const asio::ip::tcp::endpoint endpoint(ip, address.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + address.host + ":" +
                             std::to_string(address.port) + ": " + ec.message());
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void Acceptor::start() {
  asio::co_spawn(io_, accept_loop(), [](std::exception_ptr e) { log_if_failed("accept loop", e); });
}

void Acceptor::close() {
  asio::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

void Acceptor::set_tls_context(std::shared_ptr<TlsContext> tls) { tls_ = std::move(tls); }

void Acceptor::reload(const ServerConfig& config) {
  accept_bucket_.reconfigure(config.accepts_per_second, config.accept_burst);
}

asio::awaitable<void> Acceptor::accept_loop() {
  bool out_of_files = false;
  while (acceptor_.is_open()) {
    if (const auto wait = accept_bucket_.wait_for(1); wait.count() > 0) {
      backoff_.expires_after(wait);  // a reconnect storm waits in the kernel's backlog
      co_await backoff_.async_wait(use_tuple);
      continue;
    }
    Shard& shard = *context_.shards[next_shard_];
    auto [ec, socket] = co_await acceptor_.async_accept(shard.io(), use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      ServerStats::add(context_.stats.accept_errors);
      const bool files = ec == asio::error::no_descriptors || ec.value() == ENFILE;
      if (!files || !out_of_files)
        spdlog::error("accept failed: {} (backing off 100 ms)", ec.message());
      out_of_files = files;
      backoff_.expires_after(std::chrono::milliseconds(100));
      co_await backoff_.async_wait(use_tuple);
      continue;
    }
    if (out_of_files) spdlog::warn("accepting again after running out of file descriptors");
    out_of_files = false;
    accept_bucket_.try_take(1);
    next_shard_ = (next_shard_ + 1) % static_cast<std::uint32_t>(context_.shards.size());

    asio::error_code endpoint_error;
    const auto remote = socket.remote_endpoint(endpoint_error);
    if (endpoint_error) continue;  // the peer is gone already
    std::string address = remote.address().to_string();
    if (auto refusal = admission_.admit(address)) {
      ServerStats::add(context_.stats.connections_rejected);
      ServerStats::add(context_.stats.rejections[static_cast<std::size_t>(refusal->cause)]);
      spdlog::warn("refused {} ({}): {}", address, front_door_.name, refusal->message);
      reject(std::move(socket), *refusal);
      continue;
    }
    ServerStats::add(context_.stats.connections_accepted);
    asio::co_spawn(shard.io(), front_door_.serve(shard, std::move(socket), tls_),
                   [this, address = std::move(address)](std::exception_ptr e) {
                     admission_.release(address);
                     log_if_failed("session", e);
                   });
  }
}

void Acceptor::reject(asio::ip::tcp::socket socket, const Refusal& refusal) {
  auto executor = socket.get_executor();
  asio::co_spawn(
      executor,
      [socket = std::move(socket),
       bytes = front_door_.refusal(refusal)]() mutable -> asio::awaitable<void> {
        co_await asio::async_write(socket, asio::buffer(bytes), use_tuple);
        asio::error_code ignored;
        socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
      },
      [](std::exception_ptr e) { log_if_failed("refusal", e); });
}

}  // namespace chat::server
