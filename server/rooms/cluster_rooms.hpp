#pragma once
// The rooms of a home shard in cluster mode. Redis sequences every message and publishes it on
// the room's channel; each node that has members of the room follows the channel and fans out
// what arrives, in sequence order, its own messages included. A room a node does not follow is
// loaded when first joined there: subscribe first, then read the room, so nothing published in
// between is missed (what arrives twice is dropped by sequence). Who is in a room on the other
// nodes comes on the same channel, and is read from Redis when the channel was away.

#include <cstdint>
#include <optional>
#include <string>

#include "cluster_types.hpp"
#include "room_sharing.hpp"

namespace chat::server {

class HomeRooms;
class RoomFanout;
struct ServerContext;

class ClusterRooms final : public RoomSharing {
 public:
  explicit ClusterRooms(HomeRooms& rooms);

  // RoomSharing
  bool clustered() const override { return true; }
  void hold_join(JoinArgs join, Room& room) override;
  void announce(const std::string& key, const Room& room, std::uint64_t session_id,
                const Presence& change, bool last_here) override;
  bool keep_when_empty(const std::string& key, Room& room) override;
  void relay(const std::string& key, const v1::ServerFrame& event) override;
  void store_topic(const std::string& key, const Room& room, const v1::ServerFrame& event,
                   std::function<void(storage::WriteResult)> done) override;
  void topic_stored(const std::string&, Room&, const v1::ServerFrame&) override {}
  v1::Error::Code refusal_when_not_stored() const override { return v1::Error::UNAVAILABLE; }
  void on_stored(const std::string& key, Room& room, v1::RoomMessage&& message,
                 const Requester& sender, const std::vector<Requester>& resent,
                 std::chrono::steady_clock::time_point received_at) override;

  // What the engine tells the home shard (through app/cluster_dispatch).
  // A message sequenced by Redis, as every node receives it.
  void on_bus_message(const std::string& key, v1::RoomMessage message);
  // Redis may have lost what this node recorded (it came back, or took the node for dead): its
  // members of every room here are recorded again (idempotent), and each room reads from its
  // stream what its channel did not carry meanwhile.
  void rejoin();
  // The room's channel is back after a loss: its stream and its members are read again.
  void resync(const std::string& key);
  // A member joined or left on another node; a node stopped (its members leave every room).
  void on_presence(const std::string& key, Presence presence);
  void on_node_lost(const std::string& node);
  // A topic change (made on any node, this one too), or an edit or delete made on another node.
  void on_room_event(const std::string& key, v1::ServerFrame event);

 private:
  // Where a room's MessageOrder puts what is in order.
  class OrderedOutput;

  void start_loading(const std::string& key, Room& room);
  void on_subscribed(const std::string& key);
  void on_loaded(const std::string& key, LoadedRoom loaded);
  void deliver_next(const std::string& key, Room& room, v1::RoomMessage message);
  void release_acks(Room& room);
  void catch_up(const std::string& key);
  void catch_up_later(const std::string& key, int attempt);
  void on_caught_up(const std::string& key, std::uint64_t read, storage::HistoryResult result);
  // A change from the channel: shown when it changes what this node shows.
  void apply_presence(const std::string& key, Room& room, const Presence& presence);
  void show_presence(const std::string& key, const Room& room, const Presence& presence);
  void read_members(const std::string& key);
  void on_members_read(const std::string& key, std::uint64_t read,
                       const std::optional<RoomMembers>& members);
  // A live room of this shard, or null.
  Room* live_room(const std::string& key);

  HomeRooms& rooms_;
  ServerContext& context_;
  RoomFanout& fanout_;
};

}  // namespace chat::server
