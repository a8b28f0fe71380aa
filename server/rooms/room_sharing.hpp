#pragma once
// Where a room lives besides this node's members, and what that changes for the home shard: on
// one node (the embedded store) a stored message is fanned out at once and a room stays in memory
// while the store has it; in a cluster every node with members follows the room's channel, shows
// what comes on it in Redis's order, and tells the other nodes what happened here. HomeRooms
// holds one of the two (SingleNodeSharing, ClusterRooms) and never asks which.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "chat.pb.h"
#include "cluster_types.hpp"
#include "room.hpp"
#include "room_requests.hpp"
#include "store_types.hpp"

namespace chat::server {

class RoomSharing {
 public:
  virtual ~RoomSharing() = default;

  // Whether a room is shared with other nodes (and so is loaded before its first join here).
  virtual bool clustered() const = 0;
  // A join to a room that is not live yet: held while it is loaded, or refused.
  virtual void hold_join(JoinArgs join, Room& room) = 0;
  // A member here joined, left or changed nick (last_here: the room has no member here now).
  virtual void announce(const std::string& key, const Room& room, std::uint64_t session_id,
                        const Presence& change, bool last_here) = 0;
  // The room's last member here left: true while memory keeps the room.
  virtual bool keep_when_empty(const std::string& key, Room& room) = 0;
  // A passing event (typing, away) or a change (edit, delete) made here, for the other nodes.
  virtual void relay(const std::string& key, const v1::ServerFrame& event) = 0;
  // Stores a topic change (event: its TopicChanged); done says whether it was taken.
  virtual void store_topic(const std::string& key, const Room& room, const v1::ServerFrame& event,
                           std::function<void(storage::WriteResult)> done) = 0;
  // The change was stored: shown now, or when it comes back in order.
  virtual void topic_stored(const std::string& key, Room& room, const v1::ServerFrame& event) = 0;
  // What a write the store did not take is refused with (UNAVAILABLE where it can come back).
  virtual v1::Error::Code refusal_when_not_stored() const = 0;
  // A message the store took: fanned out and acknowledged (to the sender and to those who sent it
  // again meanwhile), now or once it comes back in order.
  virtual void on_stored(const std::string& key, Room& room, v1::RoomMessage&& message,
                         const Requester& sender, const std::vector<Requester>& resent,
                         std::chrono::steady_clock::time_point received_at) = 0;
};

}  // namespace chat::server
