#pragma once
// Opens the engine the configuration names: "sqlite" keeps chat.db in the data directory;
// "temporary" keeps it in a fresh directory of its own, without fsync, and removes it when the
// server stops (tests, and benchmarks of everything but the disk).

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "config.hpp"
#include "room_log.hpp"

namespace chat::server {

class StorageEngine {
 public:
  // Throws storage::StoreError (one line naming the path and the cause).
  // on_commit: called on the store's thread with the duration of each group commit.
  explicit StorageEngine(const ServerConfig& config,
                         std::function<void(std::chrono::nanoseconds)> on_commit = {});
  ~StorageEngine();
  StorageEngine(const StorageEngine&) = delete;
  StorageEngine& operator=(const StorageEngine&) = delete;

  RoomLog& log() { return *log_; }

 private:
  std::filesystem::path temporary_dir_;  // empty unless storage = "temporary"
  std::unique_ptr<RoomLog> log_;
};

}  // namespace chat::server
