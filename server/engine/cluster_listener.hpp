#pragma once
// What a cluster engine tells the core, on the engine's own thread: the core posts each call to
// the shard it concerns.

#include <string>

#include "chat.pb.h"
#include "cluster_types.hpp"

namespace chat::server {

class ClusterListener {
 public:
  virtual ~ClusterListener() = default;

  // A message sequenced by the cluster, as every node following its room receives it, in the
  // room's order (this node's own messages too).
  virtual void on_message(const std::string& room_key, v1::RoomMessage message) = 0;
  // The room's channel is back after a loss: what it carried meanwhile is only in the room's log.
  virtual void on_resubscribed(const std::string& room_key) = 0;
  // A member joined, left or changed nick on another node.
  virtual void on_presence(const std::string& room_key, Presence presence) = 0;
  // A topic change (made on any node, this one too), or an edit, delete or typing from another.
  virtual void on_room_event(const std::string& room_key, v1::ServerFrame event) = 0;
  // A node stopped its heartbeat: its members leave every room.
  virtual void on_node_lost(const std::string& node) = 0;
  // The cluster may have lost what this node recorded (it came back, or took the node for dead):
  // the node's members are to be recorded again and its rooms caught up.
  virtual void on_rejoin() = 0;
};

}  // namespace chat::server
