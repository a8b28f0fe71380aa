#include "storage_engine.hpp"

#include <spdlog/spdlog.h>
#include <stdlib.h>

#include "redis_engine.hpp"
#include "sqlite_store.hpp"

namespace chat::server {
namespace {

storage::StoreOptions store_options(const ServerConfig& config) {
  storage::StoreOptions options;
  options.max_messages_per_room = config.retention_messages;
  options.max_age = std::chrono::seconds(config.retention_seconds);
  options.sync = config.storage != "temporary";
  return options;
}

std::filesystem::path make_temporary_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "chat-server-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw storage::StoreError(pattern + ": cannot create a temporary data directory");
  }
  return pattern;
}

}  // namespace

StorageEngine::StorageEngine(const ServerConfig& config,
                             std::function<void(std::chrono::nanoseconds)> on_commit) {
  if (config.engine == "redis") {
    auto engine = std::make_unique<redis::RedisEngine>(redis::RedisEngine::Options{
        .seeds = parse_host_port_list(config.redis).value_or(std::vector<HostPort>{}),
        .retention_messages = config.retention_messages,
        .retention_seconds = config.retention_seconds,
        .heartbeat = std::chrono::milliseconds(config.heartbeat_ms),
        .node_expiry = std::chrono::milliseconds(config.node_expiry_ms),
        .acknowledge_on_replica = config.redis_acknowledge == "replica",
        .replica_timeout = std::chrono::milliseconds(config.redis_replica_timeout_ms)});
    bus_ = engine.get();
    presence_ = engine.get();
    nick_registry_ = engine.get();
    log_ = std::move(engine);
    return;
  }
  std::filesystem::path dir = config.data_dir;
  if (config.storage == "temporary") dir = temporary_dir_ = make_temporary_dir();
  try {
    auto options = store_options(config);
    options.on_commit = std::move(on_commit);
    log_ = storage::SqliteStore::open(dir, options);
  } catch (...) {
    if (!temporary_dir_.empty()) std::filesystem::remove_all(temporary_dir_);
    throw;
  }
  spdlog::info("storage: {} in {}", config.storage, dir.string());
}

StorageEngine::~StorageEngine() {
  if (auto* store = dynamic_cast<storage::SqliteStore*>(log_.get())) {
    const auto stats = store->stats();
    spdlog::info("storage: {} writes in {} group commits ({:.1f} per commit)", stats.ops_committed,
                 stats.commits,
                 stats.commits
                     ? static_cast<double>(stats.ops_committed) / static_cast<double>(stats.commits)
                     : 0.0);
  }
  log_.reset();  // finishes what is queued first
  if (!temporary_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temporary_dir_, ignored);
  }
}

}  // namespace chat::server
