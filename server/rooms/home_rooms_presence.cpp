// Cluster mode: who is in a room on the other nodes, as their changes come on the room's channel,
// and read from Redis when the channel was away.
#include <spdlog/spdlog.h>

#include <cassert>

#include "home_rooms.hpp"
#include "shard.hpp"

namespace chat::server {

void HomeRooms::on_presence(const std::string& key, Presence presence) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  ClusterRoom& cluster = *room.cluster();
  if (cluster.loading) {
    cluster.early_presence.push_back(std::move(presence));
  } else if (cluster.live) {
    apply_presence(key, room, presence);
  }
}

// The channel was away (Redis lost, or this node's subscription dropped): what it did not carry
// is read from the room's record of members, every node's.
void HomeRooms::read_members(const std::string& key) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live()) return;
  const std::uint64_t read = it->second.cluster()->remote.start_read();
  context_.cluster_presence->room_members(
      key, [context = &context_, key, read](std::optional<RoomMembers> members) {
        post_to_home(*context, key, [key, read, members = std::move(members)](HomeRooms& rooms) {
          rooms.on_members_read(key, read, members);
        });
      });
}

// What this node showed and the record differ: the difference is told to its members.
void HomeRooms::on_members_read(const std::string& key, std::uint64_t read,
                                const std::optional<RoomMembers>& members) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live()) return;
  Room& room = it->second;
  for (const Presence& difference : room.cluster()->remote.on_read(read, members)) {
    if (difference.change == Presence::Change::joined)
      context_.cluster_presence->watch_node(difference.node);
    show_presence(key, room, difference);
  }
}

void HomeRooms::apply_presence(const std::string& key, Room& room, const Presence& presence) {
  if (room.cluster()->remote.on_change(presence)) show_presence(key, room, presence);
}

void HomeRooms::show_presence(const std::string& key, const Room& room, const Presence& presence) {
  using Change = Presence::Change;
  v1::ServerFrame event;
  switch (presence.change) {
    case Change::joined:
      event.mutable_member_joined()->set_room(room.name());
      event.mutable_member_joined()->set_nick(presence.nick);
      event.mutable_member_joined()->set_account(presence.account);
      event.mutable_member_joined()->set_real_name(presence.real_name);
      break;
    case Change::left:
      event.mutable_member_left()->set_room(room.name());
      event.mutable_member_left()->set_nick(presence.nick);
      event.mutable_member_left()->set_reason(presence.detail);
      event.mutable_member_left()->set_quit(presence.quit);
      break;
    case Change::renamed:
      event.mutable_nick_changed()->set_room(room.name());
      event.mutable_nick_changed()->set_old_nick(presence.detail);
      event.mutable_nick_changed()->set_new_nick(presence.nick);
      break;
  }
  broadcast_presence(key, room, encode_frame(event, FramePriority::presence));
}

// Here only: Redis's records of the node's members are removed by the reaper (every node runs it).
void HomeRooms::on_node_lost(const std::string& node) {
  assert(shard_.on_own_thread());
  for (auto& [key, room] : rooms_) {
    for (const Presence& leave : room.cluster()->remote.on_node_lost(node)) {
      show_presence(key, room, leave);
    }
  }
}

}  // namespace chat::server
