#include "cluster_dispatch.hpp"

#include "cluster_rooms.hpp"
#include "home_rooms.hpp"
#include "server_context.hpp"
#include "shard.hpp"

namespace chat::server {

void ClusterDispatch::on_message(const std::string& room_key, v1::RoomMessage message) {
  post_to_home(context_, room_key,
               [room_key, message = std::move(message)](HomeRooms& rooms) mutable {
                 rooms.cluster()->on_bus_message(room_key, std::move(message));
               });
}

void ClusterDispatch::on_resubscribed(const std::string& room_key) {
  post_to_home(context_, room_key,
               [room_key](HomeRooms& rooms) { rooms.cluster()->resync(room_key); });
}

void ClusterDispatch::on_presence(const std::string& room_key, Presence presence) {
  post_to_home(context_, room_key,
               [room_key, presence = std::move(presence)](HomeRooms& rooms) mutable {
                 rooms.cluster()->on_presence(room_key, std::move(presence));
               });
}

void ClusterDispatch::on_room_event(const std::string& room_key, v1::ServerFrame event) {
  post_to_home(context_, room_key, [room_key, event = std::move(event)](HomeRooms& rooms) mutable {
    rooms.cluster()->on_room_event(room_key, std::move(event));
  });
}

void ClusterDispatch::on_node_lost(const std::string& node) {
  for (auto& shard : context_.shards) {
    Shard& s = *shard;
    s.post([&s, node] { s.home_rooms().cluster()->on_node_lost(node); });
  }
}

void ClusterDispatch::on_rejoin() {
  for (auto& shard : context_.shards) {
    Shard& s = *shard;
    s.post([&s] { s.home_rooms().cluster()->rejoin(); });
  }
}

}  // namespace chat::server
