// Cluster mode: Redis sequences every message and publishes it on the room's channel; each node
// that has members of the room follows the channel and fans out what arrives, in sequence order,
// its own messages included. A room a node does not follow is loaded when first joined there:
// subscribe first, then read the room, so nothing published in between is missed (what arrives
// twice is dropped by sequence).
#include <spdlog/spdlog.h>

#include <cassert>

#include "home_rooms.hpp"
#include "shard.hpp"

namespace chat::server {

class HomeRooms::OrderedOutput final : public MessageOrder::Output {
 public:
  OrderedOutput(HomeRooms& rooms, const std::string& key, Room& room)
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
    rooms_.broadcast(key_, room_, encode_frame(frame));
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
  HomeRooms& rooms_;
  const std::string& key_;
  Room& room_;
};

void HomeRooms::start_loading(const std::string& key, Room& room) {
  room.cluster()->loading = true;
  context_.bus->subscribe(key, [context = &context_, key] {
    post_to_home(*context, key, [key](HomeRooms& rooms) { rooms.on_subscribed(key); });
  });
}

void HomeRooms::on_subscribed(const std::string& key) {
  if (!rooms_.contains(key)) return;
  context_.bus->load_room(
      key, shard_.config().history_in_memory, [context = &context_, key](LoadedRoom loaded) {
        post_to_home(*context, key, [key, loaded = std::move(loaded)](HomeRooms& rooms) mutable {
          rooms.on_loaded(key, std::move(loaded));
        });
      });
}

void HomeRooms::on_loaded(const std::string& key, LoadedRoom loaded) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  ClusterRoom& cluster = *room.cluster();
  std::vector<JoinArgs> joins = std::move(cluster.waiting_joins);
  cluster.waiting_joins.clear();
  cluster.loading = false;
  if (!loaded.ok) {
    spdlog::warn("cluster: cannot load room {}: {}", room.name(), loaded.error);
    context_.bus->unsubscribe(key);
    rooms_.erase(it);
    for (const JoinArgs& join : joins) {
      refuse_join(join, v1::Error::UNAVAILABLE, "the cluster store is unavailable; try again");
    }
    return;
  }
  if (joins.empty()) {
    // Every join gave up while the room loaded (their sessions ended): not followed here.
    context_.bus->unsubscribe(key);
    rooms_.erase(it);
    return;
  }
  if (!loaded.name.empty()) room.set_name(loaded.name);
  room.set_topic(loaded.topic);
  room.order().reset(loaded.last_seq);
  room.replace_history(std::move(loaded.recent), memory_keep());
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
  for (JoinArgs& join : joins) this->join(std::move(join));
}

void HomeRooms::on_bus_message(const std::string& key, v1::RoomMessage message) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  ClusterRoom& cluster = *room.cluster();
  if (cluster.loading) {
    cluster.early.push_back(std::move(message));
  } else if (cluster.live) {
    OrderedOutput out(*this, key, room);
    if (room.order().arrive(std::move(message), out)) catch_up(key);
  }
}

void HomeRooms::deliver_next(const std::string& key, Room& room, v1::RoomMessage message) {
  broadcast(key, room, room_message_frame(message, room.name()));
  room.remember(std::move(message), memory_keep());
  release_acks(room);
}

void HomeRooms::rejoin() {
  assert(shard_.on_own_thread());
  for (const auto& [key, room] : rooms_) {
    if (!room.live()) continue;
    context_.bus->raise_seq(key, room.settled_seq());
    std::vector<std::pair<std::uint64_t, std::string>> members;
    members.reserve(room.members().size());
    for (const auto& [id, member] : room.members()) members.emplace_back(id, member.nick);
    context_.cluster_presence->sync_members(key, room.name(), std::move(members));
    read_members(key);  // what the channel missed of the others, if it went away too
    catch_up(key);
  }
}

void HomeRooms::resync(const std::string& key) {
  catch_up(key);
  read_members(key);
}

void HomeRooms::catch_up(const std::string& key) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live()) return;
  const MessageOrder::Read read = it->second.order().start_read();
  storage::HistoryQuery query{.kind = storage::HistoryQuery::Kind::after,
                              .seq = read.after,
                              .limit = shard_.config().max_history};
  context_.room_log->history(
      key, query, [context = &context_, key, read = read.number](storage::HistoryResult result) {
        post_to_home(*context, key,
                     [key, read, result = std::move(result)](HomeRooms& rooms) mutable {
                       rooms.on_caught_up(key, read, std::move(result));
                     });
      });
}

void HomeRooms::catch_up_later(const std::string& key, int attempt) {
  auto timer =
      std::make_shared<asio::steady_timer>(shard_.io(), std::chrono::milliseconds(100 << attempt));
  timer->async_wait([this, timer, key](const asio::error_code& error) {
    if (!error) catch_up(key);
  });
}

void HomeRooms::on_caught_up(const std::string& key, std::uint64_t read,
                             storage::HistoryResult result) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live()) return;
  Room& room = it->second;
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

void HomeRooms::on_room_event(const std::string& key, v1::ServerFrame event) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live())
    return;  // a room being loaded reads them from Redis
  Room& room = it->second;
  v1::RoomMessage* kept = nullptr;
  if (event.has_typing()) {
    return broadcast_presence(key, room, encode_frame(event, FramePriority::presence));
  }
  if (event.has_topic_changed()) {
    room.set_topic(event.topic_changed().topic());
  } else if (event.has_message_edited()) {
    if ((kept = room.kept(event.message_edited().seq()))) {
      kept->set_text(event.message_edited().text());
      kept->set_edited(true);
    }
  } else if (event.has_message_deleted()) {
    if ((kept = room.kept(event.message_deleted().seq()))) {
      kept->clear_text();
      kept->set_deleted(true);
    }
  } else {
    return;
  }
  broadcast(key, room, encode_frame(event));
}

void HomeRooms::release_acks(Room& room) {
  auto& acks_due = room.cluster()->acks_due;
  while (!acks_due.empty() && acks_due.begin()->first <= room.settled_seq()) {
    auto due = acks_due.extract(acks_due.begin());
    for (const ClusterRoom::DueAck& ack : due.mapped()) {
      acknowledge(ack.to, room.name(), due.key(), ack.client_msg_id, ack.duplicate);
      if (ack.received_at)
        context_.stats.ack_latency.observe(std::chrono::steady_clock::now() - *ack.received_at);
    }
  }
}

}  // namespace chat::server
