#pragma once
// Who is in a room on every node of the cluster. This node's id names its members' fields
// ("<node id>:<session id>"). Callbacks run on the engine's thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cluster_types.hpp"

namespace chat::server {

class ClusterPresence {
 public:
  virtual ~ClusterPresence() = default;

  virtual const std::string& node_id() const = 0;
  // A local member (session_id) joined, left or changed nick, as news says (its node and field
  // are this node's and the session's). last_here: it was this node's last member of the room.
  virtual void announce(const std::string& room_key, const std::string& room_name,
                        std::uint64_t session_id, const Presence& news, bool last_here = false) = 0;
  // The room's members on every node as the cluster has them now; nullopt when it did not answer.
  virtual void room_members(const std::string& room_key,
                            std::function<void(std::optional<RoomMembers>)> done) = 0;
  // After a rejoin: the cluster's record of this node's members of the room becomes exactly
  // these (session id, nick), whatever it missed, and the nodes following the room are told.
  virtual void sync_members(const std::string& room_key, const std::string& room_name,
                            std::vector<std::pair<std::uint64_t, std::string>> members) = 0;
  // Nodes a room has members of: watched from now on (ClusterListener::on_node_lost).
  virtual void watch_node(const std::string& node) = 0;
};

}  // namespace chat::server
