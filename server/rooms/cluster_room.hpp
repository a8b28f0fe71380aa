#pragma once
// What cluster mode adds to a room on its home shard. A room is live while this node has members
// and follows its channel; a join to a room that is not waits while the node subscribes and loads
// it from Redis. Other nodes' members come on the channel; a sender's Ack waits until its message
// came back on the channel and went out here.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "chat.pb.h"
#include "cluster_types.hpp"
#include "remote_members.hpp"
#include "room_requests.hpp"

namespace chat::server {

struct ClusterRoom {
  struct DueAck {
    Requester to;
    std::uint64_t client_msg_id = 0;
    bool duplicate = false;
    std::optional<std::chrono::steady_clock::time_point> received_at;  // the sender's, timed
  };

  bool live = false;
  bool loading = false;
  std::vector<JoinArgs> waiting_joins;
  std::vector<v1::RoomMessage> early;  // from the channel while loading
  std::vector<Presence> early_presence;
  RemoteMembers remote;                                   // other nodes' members
  std::map<std::uint64_t, std::vector<DueAck>> acks_due;  // by sequence
};

}  // namespace chat::server
