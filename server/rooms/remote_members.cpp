#include "remote_members.hpp"

namespace chat::server {

void RemoteMembers::reset(const RoomMembers& members, std::string own_node) {
  own_node_ = std::move(own_node);
  members_ = others(members);
}

bool RemoteMembers::on_change(const Presence& presence) {
  if (reads_pending_ > 0) changes_while_reading_.push_back(presence);
  return apply_to(members_, presence);
}

std::uint64_t RemoteMembers::start_read() {
  if (reads_pending_++ == 0) changes_while_reading_.clear();
  return ++reads_asked_;
}

std::vector<Presence> RemoteMembers::on_read(std::uint64_t read,
                                             const std::optional<RoomMembers>& record) {
  --reads_pending_;
  if (read != reads_asked_ || !record) return {};
  Members target = others(*record);
  for (const Presence& change : changes_while_reading_) apply_to(target, change);
  changes_while_reading_.clear();

  std::vector<Presence> differences;
  for (const auto& [field, nick] : members_) {
    if (!target.contains(field)) {
      differences.push_back({.change = Presence::Change::left,
                             .node = node_of(field),
                             .field = field,
                             .nick = nick,
                             .detail = "disconnected",
                             .account = false,
                             .real_name = {},
                             .quit = true});
    }
  }
  for (const auto& [field, nick] : target) {
    const auto known = members_.find(field);
    if (known == members_.end()) {
      differences.push_back({.change = Presence::Change::joined,
                             .node = node_of(field),
                             .field = field,
                             .nick = nick,
                             .detail = {},
                             .account = false,
                             .real_name = {},
                             .quit = false});
    } else if (known->second != nick) {
      differences.push_back({.change = Presence::Change::renamed,
                             .node = node_of(field),
                             .field = field,
                             .nick = nick,
                             .detail = known->second,
                             .account = false,
                             .real_name = {},
                             .quit = false});
    }
  }
  for (const Presence& difference : differences) apply_to(members_, difference);
  return differences;
}

std::vector<Presence> RemoteMembers::on_node_lost(const std::string& node) {
  const std::string node_prefix = node + ":";
  std::vector<Presence> gone;
  for (const auto& [field, nick] : members_) {
    if (field.starts_with(node_prefix)) {
      gone.push_back({.change = Presence::Change::left,
                      .node = node,
                      .field = field,
                      .nick = nick,
                      .detail = "server lost",
                      .account = false,
                      .real_name = {},
                      .quit = true});
    }
  }
  for (const Presence& leave : gone) members_.erase(leave.field);
  return gone;
}

RemoteMembers::Members RemoteMembers::others(const RoomMembers& record) const {
  const std::string own_prefix = own_node_ + ":";
  Members result;
  for (const auto& [field, nick] : record) {
    if (!field.starts_with(own_prefix)) result.emplace(field, nick);
  }
  return result;
}

bool RemoteMembers::apply_to(Members& members, const Presence& presence) {
  switch (presence.change) {
    case Presence::Change::joined:
      return members.emplace(presence.field, presence.nick).second;
    case Presence::Change::left:
      return members.erase(presence.field) > 0;
    case Presence::Change::renamed: {
      auto member = members.find(presence.field);
      if (member == members.end() || member->second == presence.nick) return false;
      member->second = presence.nick;
      return true;
    }
  }
  return false;
}

}  // namespace chat::server
