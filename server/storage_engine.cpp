#include "storage_engine.hpp"

#include <spdlog/spdlog.h>
#include <stdlib.h>

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

StorageEngine::StorageEngine(const ServerConfig& config) {
  std::filesystem::path dir = config.data_dir;
  if (config.storage == "temporary") dir = temporary_dir_ = make_temporary_dir();
  log_ = storage::SqliteStore::open(dir, store_options(config));
  spdlog::info("storage: {} in {}", config.storage, dir.string());
}

StorageEngine::~StorageEngine() {
  log_.reset();  // finishes what is queued first
  if (!temporary_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temporary_dir_, ignored);
  }
}

}  // namespace chat::server
