#pragma once
// Opens the engine the configuration names: "sqlite" keeps chat.db in the data directory;
// "temporary" keeps it in a fresh directory of its own, without fsync, and removes it when the
// server stops (tests, and benchmarks of everything but the disk). engine = "redis" opens the
// cluster engine instead.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "config.hpp"
#include "cluster_presence.hpp"
#include "nick_registry.hpp"
#include "room_bus.hpp"
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
  // The cluster engine's parts; nullptr with the embedded engine (one node, nothing to share).
  RoomBus* bus() const { return bus_; }
  ClusterPresence* presence() const { return presence_; }
  NickRegistry* nick_registry() const { return nick_registry_; }

 private:
  std::filesystem::path temporary_dir_;  // empty unless storage = "temporary"
  std::unique_ptr<RoomLog> log_;
  RoomBus* bus_ = nullptr;
  ClusterPresence* presence_ = nullptr;
  NickRegistry* nick_registry_ = nullptr;
};

}  // namespace chat::server
