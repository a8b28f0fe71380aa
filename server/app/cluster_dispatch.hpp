#pragma once
// Takes what the cluster engine tells on its thread to the shards it concerns: a room's news to
// the room's home shard, news about nodes to every shard.

#include "cluster_listener.hpp"

namespace chat::server {

struct ServerContext;

class ClusterDispatch final : public ClusterListener {
 public:
  explicit ClusterDispatch(ServerContext& context) : context_(context) {}

  void on_message(const std::string& room_key, v1::RoomMessage message) override;
  void on_resubscribed(const std::string& room_key) override;
  void on_presence(const std::string& room_key, Presence presence) override;
  void on_room_event(const std::string& room_key, v1::ServerFrame event) override;
  void on_node_lost(const std::string& node) override;
  void on_rejoin() override;

 private:
  ServerContext& context_;
};

}  // namespace chat::server
