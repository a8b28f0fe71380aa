#include "cluster_rooms.hpp"

#include <spdlog/spdlog.h>

#include <cassert>

#include "home_rooms.hpp"
#include "room_fanout.hpp"
#include "shard.hpp"

namespace chat::server {

ClusterRooms::ClusterRooms(HomeRooms& rooms)
    : rooms_(rooms), context_(rooms.shard().context()), fanout_(rooms.fanout()) {}

Room* ClusterRooms::live_room(const std::string& key) {
  Room* room = rooms_.find(key);
  return room && room->live() ? room : nullptr;
}

void ClusterRooms::hold_join(JoinArgs join, Room& room) {
  ClusterRoom& cluster = *room.cluster();
  if (!cluster.loading && !context_.bus->connected()) {
    // Loading needs Redis: refused now rather than left waiting until it is back.
    fanout_.refuse_join(join, v1::Error::UNAVAILABLE,
                        "the cluster store is unavailable; try again");
    rooms_.forget(join.key);
    return;
  }
  const std::string key = join.key;
  cluster.waiting_joins.push_back(std::move(join));
  if (!cluster.loading) start_loading(key, room);
}

void ClusterRooms::announce(const std::string& key, const Room& room, std::uint64_t session_id,
                            const Presence& change, bool last_here) {
  context_.cluster_presence->announce(key, room.name(), session_id, change, last_here);
}

bool ClusterRooms::keep_when_empty(const std::string& key, Room&) {
  // No longer followed here: the next join loads it again from Redis.
  context_.bus->unsubscribe(key);
  return false;
}

void ClusterRooms::relay(const std::string& key, const v1::ServerFrame& event) {
  context_.bus->relay(key, event);
}

void ClusterRooms::store_topic(const std::string& key, const Room& room,
                               const v1::ServerFrame& event,
                               std::function<void(storage::WriteResult)> done) {
  // Shown when it comes back on the room's channel, in Redis's order (on_room_event).
  context_.bus->set_topic_for_all(key, room.name(), event, std::move(done));
}

void ClusterRooms::on_stored(const std::string&, Room& room, v1::RoomMessage&& message,
                             const Requester& sender, const std::vector<Requester>& resent,
                             std::chrono::steady_clock::time_point received_at) {
  // Fanned out when it comes back on the channel, in order; acknowledged once it has.
  auto& due = room.cluster()->acks_due[message.seq()];
  due.push_back({.to = sender,
                 .client_msg_id = message.client_msg_id(),
                 .duplicate = false,
                 .received_at = received_at});
  for (const Requester& waiter : resent) {
    due.push_back({.to = waiter,
                   .client_msg_id = message.client_msg_id(),
                   .duplicate = true,
                   .received_at = std::nullopt});
  }
  release_acks(room);
}

class ClusterRooms::OrderedOutput final : public MessageOrder::Output {
 public:
  OrderedOutput(ClusterRooms& rooms, const std::string& key, Room& room)
      : rooms_(rooms), key_(key), room_(room) {}

  void deliver(v1::RoomMessage message) override {
    rooms_.deliver_next(key_, room_, std::move(message));
  }
  // Gives up on a hole the stream cannot fill (retention, Redis away): a Gap, then what is ahead.
  void skipped(std::uint64_t first, std::uint64_t last) override {
    spdlog::warn("cluster: room {} skipped from {} to {}", room_.name(), first - 1, last + 1);
    v1::ServerFrame frame;
    auto* gap = frame.mutable_gap();
    gap->set_room(room_.name());
    gap->set_from_seq(first);
    gap->set_to_seq(last);
    rooms_.fanout_.broadcast(key_, room_, encode_frame(frame));
  }
  void stale(const v1::RoomMessage& message) override {
    if (const auto* kept = room_.kept(message.seq());
        kept && kept->server_time_ms() != message.server_time_ms()) {
      // Only after Redis lost its data while the nodes had seen different sequences.
      spdlog::error("cluster: room {} got sequence {} again for another message; dropped",
                    room_.name(), message.seq());
    }
  }

 private:
  ClusterRooms& rooms_;
  const std::string& key_;
  Room& room_;
};

void ClusterRooms::start_loading(const std::string& key, Room& room) {
  room.cluster()->loading = true;
  context_.bus->subscribe(key, [context = &context_, key] {
    post_to_home(*context, key, [key](HomeRooms& home) { home.cluster()->on_subscribed(key); });
  });
}

void ClusterRooms::on_subscribed(const std::string& key) {
  if (!rooms_.find(key)) return;
  context_.bus->load_room(
      key, rooms_.shard().config().history_in_memory,
      answer_at_home<LoadedRoom>(context_, key, [key](HomeRooms& home, LoadedRoom loaded) {
        home.cluster()->on_loaded(key, std::move(loaded));
      }));
}

void ClusterRooms::on_loaded(const std::string& key, LoadedRoom loaded) {
  assert(rooms_.shard().on_own_thread());
  Room* found = rooms_.find(key);
  if (!found) return;
  Room& room = *found;
  ClusterRoom& cluster = *room.cluster();
  std::vector<JoinArgs> joins = std::move(cluster.waiting_joins);
  cluster.waiting_joins.clear();
  cluster.loading = false;
  if (!loaded.ok) {
    spdlog::warn("cluster: cannot load room {}: {}", room.name(), loaded.error);
    context_.bus->unsubscribe(key);
    rooms_.forget(key);
    for (const JoinArgs& join : joins) {
      fanout_.refuse_join(join, v1::Error::UNAVAILABLE,
                          "the cluster store is unavailable; try again");
    }
    return;
  }
  if (joins.empty()) {
    // Every join gave up while the room loaded (their sessions ended): not followed here.
    context_.bus->unsubscribe(key);
    rooms_.forget(key);
    return;
  }
  if (!loaded.name.empty()) room.set_name(loaded.name);
  room.set_topic(loaded.topic);
  room.order().reset(loaded.last_seq);
  room.replace_history(std::move(loaded.recent), rooms_.memory_keep());
  cluster.remote.reset(loaded.members, context_.cluster_presence->node_id());
  for (const auto& [field, nick] : cluster.remote.members()) {
    context_.cluster_presence->watch_node(node_of(field));
  }
  cluster.live = true;
  std::vector<Presence> early_presence = std::move(cluster.early_presence);
  cluster.early_presence.clear();
  for (const Presence& presence : early_presence) apply_presence(key, room, presence);
  std::vector<v1::RoomMessage> early = std::move(cluster.early);
  cluster.early.clear();
  OrderedOutput out(*this, key, room);
  bool hole = false;
  for (auto& message : early) hole |= room.order().arrive(std::move(message), out);
  if (hole) catch_up(key);
  for (JoinArgs& join : joins) rooms_.join(std::move(join));
}

void ClusterRooms::on_bus_message(const std::string& key, v1::RoomMessage message) {
  assert(rooms_.shard().on_own_thread());
  Room* found = rooms_.find(key);
  if (!found) return;
  Room& room = *found;
  ClusterRoom& cluster = *room.cluster();
  if (cluster.loading) {
    cluster.early.push_back(std::move(message));
  } else if (cluster.live) {
    OrderedOutput out(*this, key, room);
    if (room.order().arrive(std::move(message), out)) catch_up(key);
  }
}

void ClusterRooms::deliver_next(const std::string& key, Room& room, v1::RoomMessage message) {
  fanout_.broadcast(key, room, room_message_frame(message, room.name()));
  room.remember(std::move(message), rooms_.memory_keep());
  release_acks(room);
}

void ClusterRooms::rejoin() {
  assert(rooms_.shard().on_own_thread());
  rooms_.for_each_room([this](const std::string& key, Room& room) {
    if (!room.live()) return;
    context_.bus->raise_seq(key, room.settled_seq());
    std::vector<std::pair<std::uint64_t, std::string>> members;
    members.reserve(room.members().size());
    for (const auto& [id, member] : room.members()) members.emplace_back(id, member.nick);
    context_.cluster_presence->sync_members(key, room.name(), std::move(members));
    read_members(key);  // what the channel missed of the others, if it went away too
    catch_up(key);
  });
}

void ClusterRooms::resync(const std::string& key) {
  catch_up(key);
  read_members(key);
}

void ClusterRooms::catch_up(const std::string& key) {
  Room* room = live_room(key);
  if (!room) return;
  const MessageOrder::Read read = room->order().start_read();
  storage::HistoryQuery query{.kind = storage::HistoryQuery::Kind::after,
                              .seq = read.after,
                              .limit = rooms_.shard().config().max_history};
  context_.room_log->history(
      key, query,
      answer_at_home<storage::HistoryResult>(
          context_, key, [key, read = read.number](HomeRooms& home, storage::HistoryResult result) {
            home.cluster()->on_caught_up(key, read, std::move(result));
          }));
}

void ClusterRooms::catch_up_later(const std::string& key, int attempt) {
  auto timer = std::make_shared<asio::steady_timer>(rooms_.shard().io(),
                                                    std::chrono::milliseconds(100 << attempt));
  timer->async_wait([this, timer, key](const asio::error_code& error) {
    if (!error) catch_up(key);
  });
}

void ClusterRooms::on_caught_up(const std::string& key, std::uint64_t read,
                                storage::HistoryResult result) {
  assert(rooms_.shard().on_own_thread());
  Room* found = live_room(key);
  if (!found) return;
  Room& room = *found;
  if (!result.messages.empty()) {
    spdlog::info("cluster: room {} caught up {} message(s) from Redis", room.name(),
                 result.messages.size());
  }
  if (!result.ok && context_.bus->connected()) {
    // Redis is busy: asked again twice, after 0.2 and 0.4 s, before the hole is given up. (With
    // Redis away, the hole is read when it is back: rejoin.)
    spdlog::warn("cluster: room {} could not catch up: {}", room.name(), result.error);
  }
  OrderedOutput out(*this, key, room);
  const MessageOrder::Next next = room.order().on_answer(
      read, {.ok = result.ok, .messages = std::move(result.messages), .has_more = result.has_more},
      context_.bus->connected(), out);
  if (next == MessageOrder::Next::read_now) catch_up(key);
  if (next == MessageOrder::Next::read_later) catch_up_later(key, room.order().failed_reads());
}

void ClusterRooms::on_room_event(const std::string& key, v1::ServerFrame event) {
  assert(rooms_.shard().on_own_thread());
  Room* found = live_room(key);
  if (!found) return;  // a room being loaded reads them from Redis
  Room& room = *found;
  if (event.has_typing()) {
    return fanout_.broadcast_presence(key, room, encode_frame(event, FramePriority::presence));
  }
  if (event.has_topic_changed()) {
    room.set_topic(event.topic_changed().topic());
  } else if (event.has_message_edited()) {
    room.edit_kept(event.message_edited().seq(), event.message_edited().text());
  } else if (event.has_message_deleted()) {
    room.delete_kept(event.message_deleted().seq());
  } else {
    return;
  }
  fanout_.broadcast(key, room, encode_frame(event));
}

void ClusterRooms::release_acks(Room& room) {
  auto& acks_due = room.cluster()->acks_due;
  while (!acks_due.empty() && acks_due.begin()->first <= room.settled_seq()) {
    auto due = acks_due.extract(acks_due.begin());
    for (const ClusterRoom::DueAck& ack : due.mapped()) {
      fanout_.acknowledge(ack.to, room.name(), due.key(), ack.client_msg_id, ack.duplicate);
      if (ack.received_at)
        context_.stats.ack_latency.observe(std::chrono::steady_clock::now() - *ack.received_at);
    }
  }
}

void ClusterRooms::on_presence(const std::string& key, Presence presence) {
  assert(rooms_.shard().on_own_thread());
  Room* found = rooms_.find(key);
  if (!found) return;
  Room& room = *found;
  ClusterRoom& cluster = *room.cluster();
  if (cluster.loading) {
    cluster.early_presence.push_back(std::move(presence));
  } else if (cluster.live) {
    apply_presence(key, room, presence);
  }
}

// The channel was away (Redis lost, or this node's subscription dropped): what it did not carry
// is read from the room's record of members, every node's.
void ClusterRooms::read_members(const std::string& key) {
  Room* room = live_room(key);
  if (!room) return;
  const std::uint64_t read = room->cluster()->remote.start_read();
  context_.cluster_presence->room_members(
      key, answer_at_home<std::optional<RoomMembers>>(
               context_, key, [key, read](HomeRooms& home, std::optional<RoomMembers> members) {
                 home.cluster()->on_members_read(key, read, members);
               }));
}

// What this node showed and the record differ: the difference is told to its members.
void ClusterRooms::on_members_read(const std::string& key, std::uint64_t read,
                                   const std::optional<RoomMembers>& members) {
  assert(rooms_.shard().on_own_thread());
  Room* found = live_room(key);
  if (!found) return;
  Room& room = *found;
  for (const Presence& difference : room.cluster()->remote.on_read(read, members)) {
    if (difference.change == Presence::Change::joined)
      context_.cluster_presence->watch_node(difference.node);
    show_presence(key, room, difference);
  }
}

void ClusterRooms::apply_presence(const std::string& key, Room& room, const Presence& presence) {
  if (room.cluster()->remote.on_change(presence)) show_presence(key, room, presence);
}

void ClusterRooms::show_presence(const std::string& key, const Room& room,
                                 const Presence& presence) {
  fanout_.broadcast_presence(key, room, presence_frame(room.name(), presence));
}

// Here only: Redis's records of the node's members are removed by the reaper (every node runs it).
void ClusterRooms::on_node_lost(const std::string& node) {
  assert(rooms_.shard().on_own_thread());
  rooms_.for_each_room([this, &node](const std::string& key, Room& room) {
    for (const Presence& leave : room.cluster()->remote.on_node_lost(node)) {
      show_presence(key, room, leave);
    }
  });
}

}  // namespace chat::server
