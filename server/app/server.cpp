#include "server.hpp"

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "acceptor.hpp"
#include "cluster_dispatch.hpp"
#include "irc_front_door.hpp"
#include "logging.hpp"
#include "memory_releaser.hpp"
#include "session.hpp"
#include "shard.hpp"
#include "status_endpoint.hpp"
#include "storage_engine.hpp"
#include "tls_context.hpp"
#include "web_front_door.hpp"
#include "web_router.hpp"

namespace chat::server {
namespace {

// Counts shards down to zero; the main thread waits with a deadline.
class Countdown {
 public:
  explicit Countdown(std::size_t count) : count_(count) {}
  void arrive() {
    std::lock_guard lock(mutex_);
    if (count_ > 0 && --count_ == 0) done_.notify_all();
  }
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, timeout, [&] { return count_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t count_;
};

AccountsOptions accounts_options(const ServerConfig& config) {
  AccountsOptions options;
  options.guests = config.guests == "allow";
  options.hash_threads = config.hash_threads;
  options.cost = config.hash_cost == "minimum" ? storage::PasswordHashCost::minimum()
                                               : storage::PasswordHashCost::interactive();
  options.failed_login_burst = config.failed_login_burst;
  options.failed_login_refill = std::chrono::seconds(config.failed_login_refill_s);
  return options;
}

std::shared_ptr<TlsContext> load_tls(const ServerConfig& config) {
  return TlsContext::server({.cert_file = config.tls_cert, .key_file = config.tls_key});
}

}  // namespace

Server::Server(const ServerConfig& config) : context_(std::make_unique<ServerContext>()) {
  context_->config = config;
  context_->storage = std::make_unique<StorageEngine>(
      config, [stats = &context_->stats](std::chrono::nanoseconds took) {
        stats->commit_latency.observe(took);
      });
  context_->room_log = &context_->storage->log();
  context_->bus = context_->storage->bus();
  context_->cluster_presence = context_->storage->presence();
  context_->nick_registry = context_->storage->nick_registry();
  context_->accounts = std::make_unique<Accounts>(*context_->room_log, accounts_options(config));
  std::uint32_t shards = config.shards;
  if (shards == 0) shards = std::max(1u, std::thread::hardware_concurrency());
  for (std::uint32_t i = 0; i < shards; ++i)
    context_->shards.push_back(std::make_unique<Shard>(i, *context_));
  restore_rooms();
  if (context_->bus) {
    cluster_dispatch_ = std::make_unique<ClusterDispatch>(*context_);
    context_->bus->listen(*cluster_dispatch_);
  }
}

Server::~Server() {
  stop();
  acceptor_.reset();
  tls_acceptor_.reset();
  irc_acceptor_.reset();
  irc_tls_acceptor_.reset();
  web_acceptor_.reset();  // their timers belong to shard 0's io_context
  web_tls_acceptor_.reset();
  // Their threads post to the shards (and the status endpoint): they go first, while those exist.
  context_->accounts.reset();
  context_->storage.reset();
  // A scrape may be waiting on a shard: the shards' pending handlers refer to the endpoint's loop.
  context_->shards.clear();
  status_.reset();
}

// Before any shard runs: each room the store knows goes to its home shard with the messages a
// join shows.
void Server::restore_rooms() {
  const auto& config = context_->config;
  std::size_t count = 0;
  for (const storage::RoomRecord& record : context_->room_log->load_rooms()) {
    auto recent = context_->room_log->load_recent(record.key, config.history_on_join);
    context_->shards[context_->home_shard_of(record.key)]->home_rooms().restore(record,
                                                                                std::move(recent));
    ++count;
  }
  if (count > 0) spdlog::info("storage: {} room(s) restored", count);
}

void Server::start() {
  open_listeners();
  // A node whose Redis answers takes its first clients ready; one whose Redis is away starts
  // anyway, not ready, and catches up once Redis is back.
  if (context_->bus && !context_->bus->wait_connected(std::chrono::seconds(3)))
    spdlog::warn("cluster: Redis does not answer yet; starting without it (not ready)");
  for (auto& shard : context_->shards) shard->start();
  for (Acceptor* acceptor : acceptors()) acceptor->start();
  memory_releaser_ = std::make_unique<MemoryReleaser>(
      std::chrono::milliseconds(context_->config.memory_release_interval_ms),
      context_->stats.memory_releases);
  started_ = true;
  context_->accepting = true;
  log_listeners();
}

void Server::open_listeners() {
  const ServerConfig& config = context_->config;
  auto& io = context_->shards.front()->io();
  admission_ = std::make_unique<Admission>(admission_limits(config));
  auto address_of = [](const std::string& setting, const std::string& value) {
    const auto address = parse_host_port(value);
    if (!address) throw std::runtime_error(setting + ": '" + value + "' is not HOST:PORT");
    return *address;
  };
  if (!config.listen.empty()) {
    acceptor_ = std::make_unique<Acceptor>(*context_, io, address_of("listen", config.listen),
                                           *admission_, chat_v1_front_door());
  }
  std::shared_ptr<TlsContext> tls;
  if (!config.tls_listen.empty() || !config.web_tls_listen.empty() ||
      !config.irc_tls_listen.empty())
    tls = load_tls(config);
  if (!config.tls_listen.empty()) {
    tls_acceptor_ =
        std::make_unique<Acceptor>(*context_, io, address_of("tls_listen", config.tls_listen),
                                   *admission_, chat_v1_front_door(), tls);
  }
  if (!config.irc_listen.empty()) {
    irc_acceptor_ = std::make_unique<Acceptor>(
        *context_, io, address_of("irc_listen", config.irc_listen), *admission_, irc_front_door());
  }
  if (!config.irc_tls_listen.empty()) {
    irc_tls_acceptor_ = std::make_unique<Acceptor>(
        *context_, io, address_of("irc_tls_listen", config.irc_tls_listen), *admission_,
        irc_front_door(), tls);
  }
  const auto origins = parse_origin_list(config.web_origins);
  if (!config.web.empty()) {
    web_router_ = std::make_unique<WebRouter>(WebAssets::embedded(), OriginPolicy{origins, false});
    web_acceptor_ = std::make_unique<Acceptor>(*context_, io, address_of("web", config.web),
                                               *admission_, web_front_door(*web_router_));
  }
  if (!config.web_tls_listen.empty()) {
    web_tls_router_ =
        std::make_unique<WebRouter>(WebAssets::embedded(), OriginPolicy{origins, true});
    web_tls_acceptor_ = std::make_unique<Acceptor>(
        *context_, io, address_of("web_tls_listen", config.web_tls_listen), *admission_,
        web_front_door(*web_tls_router_), tls);
  }
  if (!config.http.empty()) status_ = std::make_unique<StatusEndpoint>(*context_, config.http);
}

std::vector<Acceptor*> Server::acceptors() const {
  std::vector<Acceptor*> on;
  for (const auto* acceptor : {&acceptor_, &tls_acceptor_, &irc_acceptor_, &irc_tls_acceptor_,
                               &web_acceptor_, &web_tls_acceptor_})
    if (*acceptor) on.push_back(acceptor->get());
  return on;
}

void Server::log_listeners() const {
  const ServerConfig& config = context_->config;
  auto host_of = [](const std::string& value) { return parse_host_port(value)->host; };
  if (acceptor_) {
    spdlog::info("listening on {}:{} with {} shard(s)", host_of(config.listen), acceptor_->port(),
                 context_->shards.size());
  }
  if (tls_acceptor_)
    spdlog::info("listening for TLS on {}:{}", host_of(config.tls_listen), tls_acceptor_->port());
  if (irc_acceptor_)
    spdlog::info("irc on {}:{}", host_of(config.irc_listen), irc_acceptor_->port());
  if (irc_tls_acceptor_) {
    spdlog::info("irc over TLS on {}:{}", host_of(config.irc_tls_listen),
                 irc_tls_acceptor_->port());
  }
  if (web_acceptor_)
    spdlog::info("web client on http://{}:{}/", host_of(config.web), web_acceptor_->port());
  if (web_tls_acceptor_) {
    spdlog::info("web client on https://{}:{}/", host_of(config.web_tls_listen),
                 web_tls_acceptor_->port());
  }
  if (status_) spdlog::info("metrics and health on http://{}", status_->address());
}

std::uint16_t Server::port() const { return acceptor_ ? acceptor_->port() : 0; }
std::uint16_t Server::tls_port() const { return tls_acceptor_ ? tls_acceptor_->port() : 0; }
std::uint16_t Server::http_port() const { return status_ ? status_->port() : 0; }
std::uint16_t Server::irc_port() const { return irc_acceptor_ ? irc_acceptor_->port() : 0; }
std::uint16_t Server::irc_tls_port() const {
  return irc_tls_acceptor_ ? irc_tls_acceptor_->port() : 0;
}
std::uint16_t Server::web_port() const { return web_acceptor_ ? web_acceptor_->port() : 0; }
std::uint16_t Server::web_tls_port() const {
  return web_tls_acceptor_ ? web_tls_acceptor_->port() : 0;
}

void Server::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  memory_releaser_.reset();
  context_->accepting = false;
  auto& shards = context_->shards;
  std::promise<void> closed;
  asio::post(shards.front()->io(), [&] {
    for (Acceptor* acceptor : acceptors()) acceptor->close();
    closed.set_value();
  });
  closed.get_future().wait();

  Countdown drained(shards.size());
  for (auto& shard : shards) {
    Shard& s = *shard;
    s.post([&s, &drained] { s.begin_shutdown([&drained] { drained.arrive(); }); });
  }
  const auto& config = context_->config;
  if (!drained.wait_for(std::chrono::milliseconds(config.shutdown_timeout_ms))) {
    spdlog::warn("shutdown: clients still flushing after {} ms, dropping them",
                 config.shutdown_timeout_ms);
    for (auto& shard : shards) {
      Shard& s = *shard;
      s.post([&s] { s.abort_sessions(); });
    }
    drained.wait_for(std::chrono::milliseconds(config.close_timeout_ms + 1000));
  }
  if (status_) status_->close();
  for (auto& shard : shards) shard->stop_and_join();
  spdlog::info("stopped");
}

void Server::reload(const ServerConfig& config) {
  if (auto level = parse_log_level(config.log_level)) spdlog::set_level(*level);
  const auto& current = context_->config;
  if (config.listen != current.listen || config.tls_listen != current.tls_listen ||
      config.web != current.web || config.web_tls_listen != current.web_tls_listen ||
      config.irc_listen != current.irc_listen || config.irc_tls_listen != current.irc_tls_listen ||
      config.web_origins != current.web_origins || config.http != current.http ||
      config.shards != current.shards) {
    spdlog::warn(
        "reload: listen, tls_listen, irc_listen, irc_tls_listen, web, web_tls_listen, web_origins, "
        "http and shards change "
        "only on restart");
  }
  std::shared_ptr<TlsContext> tls;
  if ((tls_acceptor_ || web_tls_acceptor_) && !config.tls_cert.empty()) {
    try {
      tls = load_tls(config);
    } catch (const std::exception& e) {
      spdlog::error("reload: {}; keeping the current certificate", e.what());
    }
  }
  admission_->set_limits(admission_limits(config));
  for (auto& shard : context_->shards) {
    Shard& s = *shard;
    s.post([&s, config] { s.reload(config); });
  }
  asio::post(context_->shards.front()->io(), [this, config, tls = std::move(tls)]() mutable {
    for (Acceptor* acceptor : acceptors()) {
      acceptor->reload(config);
      if (tls && acceptor->uses_tls()) acceptor->set_tls_context(tls);
    }
    if (tls) spdlog::info("reload: TLS certificate {} loaded", config.tls_cert);
    // Last, so a reader of the log knows new connections see everything above.
    spdlog::info("reloaded limits and log level");
  });
}

const ServerStats& Server::stats() const { return context_->stats; }

std::uint32_t Server::shard_count() const {
  return static_cast<std::uint32_t>(context_->shards.size());
}

}  // namespace chat::server
