#pragma once
// One shard's fan-out lists: for each room, the sessions on this shard that are members. A room
// message is posted once to each shard with members; that shard pushes it to each local member's
// outbox here. Shard thread only.

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "framing.hpp"

namespace chat::server {

class ClientSession;

class LocalRooms {
 public:
  void add(const std::string& room_key, ClientSession* session);
  void remove(const std::string& room_key, ClientSession* session);
  // Queues frame to every local member of the room; returns how many received it. Never removes a
  // member: one that overflows is only marked closing and leaves when its coroutine unwinds.
  std::size_t deliver(const std::string& room_key, const SharedFrame& frame);
  std::size_t member_count(const std::string& room_key) const;

 private:
  std::unordered_map<std::string, std::vector<ClientSession*>> members_;
};

}  // namespace chat::server
