#pragma once
// What all shards share: the start-up configuration, the nick directory, the counters, the room
// log and the shards themselves (to post to each other).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "accounts.hpp"
#include "cluster_presence.hpp"
#include "config.hpp"
#include "nick_directory.hpp"
#include "nick_registry.hpp"
#include "room_bus.hpp"
#include "room_log.hpp"
#include "server_stats.hpp"

namespace chat::server {

class Shard;
class StorageEngine;  // the app layer's: it opens the engine and fills in the pointers below

struct ServerContext {
  ServerConfig config;
  NickDirectory nicks;
  ServerStats stats;
  std::unique_ptr<StorageEngine> storage;
  RoomLog* room_log = nullptr;  // storage's
  // Cluster mode (engine = "redis") only, storage's too: the bus, presence and nicks of the nodes.
  RoomBus* bus = nullptr;
  ClusterPresence* cluster_presence = nullptr;
  NickRegistry* nick_registry = nullptr;
  std::unique_ptr<Accounts> accounts;
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<std::uint64_t> next_session_id{1};
  std::atomic<bool> accepting{false};  // listening, and not shutting down

  // The shard that owns a room's state: a hash of its key.
  std::uint32_t home_shard_of(const std::string& room_key) const {
    return static_cast<std::uint32_t>(std::hash<std::string>{}(room_key) % shards.size());
  }
};

}  // namespace chat::server
