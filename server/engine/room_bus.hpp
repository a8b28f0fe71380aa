#pragma once
// The cluster's bus (DESIGN.md, "the engine"): a node follows the channel of each room it has
// members of, and fans out what arrives there in sequence order. The embedded engine has none: a
// single node fans out what it stored.
//
// Calls return at once; callbacks run on the engine's thread, so callers post back to their shard.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "chat.pb.h"
#include "cluster_listener.hpp"
#include "cluster_types.hpp"
#include "store_types.hpp"

namespace chat::server {

class RoomBus {
 public:
  virtual ~RoomBus() = default;

  // Where messages, presence and room events go; set before the engine is used.
  virtual void listen(ClusterListener& listener) = 0;
  virtual bool connected() const = 0;
  // Blocks until the bus is up or the time is over; true when it is up.
  virtual bool wait_connected(std::chrono::milliseconds timeout) = 0;

  // subscribed runs once the bus confirms: messages published after that reach the listener.
  virtual void subscribe(const std::string& room_key, std::function<void()> subscribed) = 0;
  virtual void unsubscribe(const std::string& room_key) = 0;
  // The room as the cluster has it now, with its newest `recent` messages and every member.
  virtual void load_room(const std::string& room_key, std::uint32_t recent,
                         std::function<void(LoadedRoom)> done) = 0;
  // After a rejoin: the room's counter is raised to seq (the highest this node has seen) if it is
  // below, as when the cluster's store restarted without its data.
  virtual void raise_seq(const std::string& room_key, std::uint64_t seq) = 0;
  // A topic change (event: its TopicChanged) stored and published in one step; every node
  // following the room, this one included, shows it when it comes on the channel.
  virtual void set_topic_for_all(const std::string& room_key, const std::string& room_name,
                                 const v1::ServerFrame& event,
                                 std::function<void(storage::WriteResult)> done) = 0;
  // Room events other than messages and topics (edit, delete, typing): to the other nodes.
  virtual void relay(const std::string& room_key, const v1::ServerFrame& event) = 0;
  // The rooms in the cluster whose key starts with prefix_key (members on every node), the
  // first `count` in key order.
  virtual void list_rooms(const std::string& prefix_key, std::uint32_t count,
                          std::function<void(ListedRooms)> done) = 0;
};

}  // namespace chat::server
