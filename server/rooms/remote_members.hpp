#pragma once
// A room's members on the other nodes of a cluster, as this node shows them: kept up to date by
// the changes that come on the room's channel, and reconciled with the cluster's record when the
// channel was away. Pure logic: the caller reads the record when it must and hands it back, and
// shows its members each change this class reports.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster_types.hpp"

namespace chat::server {

class RemoteMembers {
 public:
  using Members = std::unordered_map<std::string, std::string>;  // field -> nick

  const Members& members() const { return members_; }
  std::size_t size() const { return members_.size(); }

  // The room as loaded: every node's members. own_node: this node's id; its members are the
  // room's local ones, never remote.
  void reset(const RoomMembers& members, std::string own_node);
  // A change that came on the channel. True when it changes what this node shows.
  bool on_change(const Presence& presence);
  // A read of the cluster's record starts: its number, to hand back with the answer.
  std::uint64_t start_read();
  // The record as read (nullopt: the cluster did not answer). Only the last read asked counts.
  // The record is a snapshot taken some time after the read was asked: the channel's changes
  // since then are applied to it again (each one idempotent). Returns the changes that made what
  // this node shows equal to it, applied already.
  std::vector<Presence> on_read(std::uint64_t read, const std::optional<RoomMembers>& record);
  // A node stopped: its members leave (the changes, applied already).
  std::vector<Presence> on_node_lost(const std::string& node);

 private:
  Members others(const RoomMembers& record) const;
  // True when the change changed members (a join of a member known already does not).
  static bool apply_to(Members& members, const Presence& presence);

  std::string own_node_;
  Members members_;
  int reads_pending_ = 0;
  std::uint64_t reads_asked_ = 0;
  std::vector<Presence> changes_while_reading_;
};

}  // namespace chat::server
