// Cluster mode: who is in a room on the other nodes, as their changes come on the room's channel,
// and read from Redis when the channel was away.
#include <spdlog/spdlog.h>

#include "home_rooms.hpp"
#include "shard.hpp"

namespace chat::server {

void HomeRooms::on_presence(const std::string& key, Presence presence) {
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  if (room.loading) {
    room.early_presence.push_back(std::move(presence));
  } else if (room.live) {
    if (room.member_reads_pending > 0) room.presence_while_reading.push_back(presence);
    apply_presence(key, room, std::move(presence));
  }
}

// The channel was away (Redis lost, or this node's subscription dropped): what it did not carry
// is read from the room's record of members, every node's.
void HomeRooms::read_members(const std::string& key) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live) return;
  Room& room = it->second;
  if (room.member_reads_pending++ == 0) room.presence_while_reading.clear();
  const std::uint64_t read = ++room.member_reads;
  context_.cluster_presence->room_members(
      key, [context = &context_, key, read](std::optional<RoomMembers> members) {
        post_to_home(*context, key, [key, read, members = std::move(members)](HomeRooms& rooms) {
          rooms.on_members_read(key, read, members);
        });
      });
}

// The record read is a snapshot taken at some point after the read was asked; the changes that
// came on the channel since the read was asked are applied to it again (in order, each one
// idempotent), and the difference from what this node showed is told to its members.
void HomeRooms::on_members_read(const std::string& key, std::uint64_t read,
                                const std::optional<RoomMembers>& members) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live) return;
  Room& room = it->second;
  --room.member_reads_pending;
  if (read != room.member_reads || !members) return;  // a later read decides; or none could
  auto target = other_nodes_members(*members);
  for (const Presence& change : room.presence_while_reading) apply_to(target, change);
  room.presence_while_reading.clear();

  std::vector<Presence> differences;
  for (const auto& [field, nick] : room.remote_members) {
    if (!target.contains(field)) {
      differences.push_back({.change = Presence::Change::left,
                             .node = node_of(field),
                             .field = field,
                             .nick = nick,
                             .detail = "disconnected"});
    }
  }
  for (const auto& [field, nick] : target) {
    const auto known = room.remote_members.find(field);
    const std::string node = node_of(field);
    if (known == room.remote_members.end()) {
      context_.cluster_presence->watch_node(node);
      differences.push_back({.change = Presence::Change::joined,
                             .node = node,
                             .field = field,
                             .nick = nick,
                             .detail = {}});
    } else if (known->second != nick) {
      differences.push_back({.change = Presence::Change::renamed,
                             .node = node,
                             .field = field,
                             .nick = nick,
                             .detail = known->second});
    }
  }
  for (auto& difference : differences) apply_presence(key, room, std::move(difference));
}

std::unordered_map<std::string, std::string> HomeRooms::other_nodes_members(
    const RoomMembers& members) const {
  const std::string own_prefix = context_.cluster_presence->node_id() + ":";
  std::unordered_map<std::string, std::string> others;
  for (const auto& [field, nick] : members) {
    if (!field.starts_with(own_prefix)) others.emplace(field, nick);
  }
  return others;
}

void HomeRooms::apply_to(std::unordered_map<std::string, std::string>& members,
                         const Presence& presence) {
  switch (presence.change) {
    case Presence::Change::joined:
      members.emplace(presence.field, presence.nick);
      break;
    case Presence::Change::left:
      members.erase(presence.field);
      break;
    case Presence::Change::renamed:
      if (auto member = members.find(presence.field); member != members.end())
        member->second = presence.nick;
      break;
  }
}

void HomeRooms::apply_presence(const std::string& key, Room& room, Presence presence) {
  using Change = Presence::Change;
  v1::ServerFrame event;
  switch (presence.change) {
    case Change::joined:
      if (!room.remote_members.emplace(presence.field, presence.nick).second) return;  // known
      event.mutable_member_joined()->set_room(room.name);
      event.mutable_member_joined()->set_nick(presence.nick);
      break;
    case Change::left:
      if (room.remote_members.erase(presence.field) == 0) return;
      event.mutable_member_left()->set_room(room.name);
      event.mutable_member_left()->set_nick(presence.nick);
      event.mutable_member_left()->set_reason(presence.detail);
      break;
    case Change::renamed: {
      auto member = room.remote_members.find(presence.field);
      if (member == room.remote_members.end() || member->second == presence.nick) return;
      member->second = presence.nick;
      event.mutable_nick_changed()->set_room(room.name);
      event.mutable_nick_changed()->set_old_nick(presence.detail);
      event.mutable_nick_changed()->set_new_nick(presence.nick);
      break;
    }
  }
  broadcast_presence(key, room, encode_frame(event, FramePriority::presence));
}

// Here only: Redis's records of the node's members are removed by the reaper (every node runs it).
void HomeRooms::on_node_lost(const std::string& node) {
  const std::string node_prefix = node + ":";
  for (auto& [key, room] : rooms_) {
    std::vector<std::string> gone;
    for (const auto& [field, nick] : room.remote_members) {
      if (field.starts_with(node_prefix)) gone.push_back(field);
    }
    for (const std::string& field : gone) {
      const std::string nick = room.remote_members.at(field);
      apply_presence(key, room,
                     {.change = Presence::Change::left,
                      .node = node,
                      .field = field,
                      .nick = nick,
                      .detail = "server lost"});
    }
  }
}

}  // namespace chat::server
