#include "server.hpp"

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "acceptor.hpp"
#include "logging.hpp"
#include "shard.hpp"

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

}  // namespace

Server::Server(const ServerConfig& config) : context_(std::make_unique<ServerContext>()) {
  context_->config = config;
  context_->storage = std::make_unique<StorageEngine>(config);
  context_->room_log = &context_->storage->log();
  context_->accounts = std::make_unique<Accounts>(*context_->room_log, accounts_options(config));
  std::uint32_t shards = config.shards;
  if (shards == 0) shards = std::max(1u, std::thread::hardware_concurrency());
  for (std::uint32_t i = 0; i < shards; ++i)
    context_->shards.push_back(std::make_unique<Shard>(i, *context_));
  restore_rooms();
}

Server::~Server() {
  stop();
  acceptor_.reset();
  // Their threads post to the shards: they go first, while the shards still exist.
  context_->accounts.reset();
  context_->storage.reset();
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
  const auto address = parse_host_port(context_->config.listen);
  if (!address)
    throw std::runtime_error("listen: '" + context_->config.listen + "' is not HOST:PORT");
  acceptor_ = std::make_unique<Acceptor>(*context_, context_->shards.front()->io(), *address);
  for (auto& shard : context_->shards) shard->start();
  acceptor_->start();
  started_ = true;
  spdlog::info("listening on {}:{} with {} shard(s)", address->host, acceptor_->port(),
               context_->shards.size());
}

std::uint16_t Server::port() const { return acceptor_ ? acceptor_->port() : 0; }

void Server::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  auto& shards = context_->shards;
  std::promise<void> closed;
  asio::post(shards.front()->io(), [&] {
    acceptor_->close();
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
  for (auto& shard : shards) shard->stop_and_join();
  spdlog::info("stopped");
}

void Server::reload(const ServerConfig& config) {
  if (auto level = parse_log_level(config.log_level)) spdlog::set_level(*level);
  const auto& current = context_->config;
  if (config.listen != current.listen || config.shards != current.shards) {
    spdlog::warn("reload: listen and shards change only on restart");
  }
  for (auto& shard : context_->shards) {
    Shard& s = *shard;
    s.post([&s, config] { s.reload(config); });
  }
  asio::post(context_->shards.front()->io(), [this, config] { acceptor_->reload(config); });
  spdlog::info("reloaded limits and log level");
}

const ServerStats& Server::stats() const { return context_->stats; }

std::uint32_t Server::shard_count() const {
  return static_cast<std::uint32_t>(context_->shards.size());
}

}  // namespace chat::server
