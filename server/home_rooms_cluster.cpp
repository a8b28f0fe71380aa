// Cluster mode: Redis sequences every message and publishes it on the room's channel; each node
// that has members of the room follows the channel and fans out what arrives, in sequence order,
// its own messages included. A room a node does not follow is loaded when first joined there:
// subscribe first, then read the room, so nothing published in between is missed (what arrives
// twice is dropped by sequence).
#include <spdlog/spdlog.h>

#include "home_rooms.hpp"
#include "session.hpp"
#include "shard.hpp"

namespace chat::server {

void HomeRooms::start_loading(const std::string& key, Room& room) {
  room.loading = true;
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
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  std::vector<JoinArgs> joins = std::move(room.waiting_joins);
  room.waiting_joins.clear();
  room.loading = false;
  if (!loaded.ok) {
    spdlog::warn("cluster: cannot load room {}: {}", room.name, loaded.error);
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
  if (!loaded.name.empty()) room.name = loaded.name;
  room.topic = loaded.topic;
  room.settled_seq = loaded.last_seq;
  room.recent.reset();
  if (!loaded.recent.empty()) {
    room.recent = std::make_unique<RecentHistory>();
    for (auto& message : loaded.recent) room.recent->push(std::move(message), memory_keep());
  }
  room.remote_members = other_nodes_members(loaded.members);
  for (const auto& [field, nick] : room.remote_members) {
    context_.cluster_presence->watch_node(node_of(field));
  }
  room.live = true;
  std::vector<Presence> early_presence = std::move(room.early_presence);
  room.early_presence.clear();
  for (auto& presence : early_presence) apply_presence(key, room, std::move(presence));
  std::vector<v1::RoomMessage> early = std::move(room.early);
  room.early.clear();
  for (auto& message : early) apply_in_order(key, room, std::move(message), room.catch_up_reads);
  for (JoinArgs& join : joins) this->join(std::move(join));
}

void HomeRooms::on_bus_message(const std::string& key, v1::RoomMessage message) {
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  if (room.loading) {
    room.early.push_back(std::move(message));
  } else if (room.live) {
    apply_in_order(key, room, std::move(message), room.catch_up_reads);
  }
}

void HomeRooms::apply_in_order(const std::string& key, Room& room, v1::RoomMessage message,
                               std::uint64_t reads_before) {
  const std::uint64_t seq = message.seq();
  if (seq <= room.settled_seq) {  // loaded already, or a second copy
    if (const auto* kept = room.recent ? room.recent->find(seq) : nullptr;
        kept && kept->server_time_ms() != message.server_time_ms()) {
      // Only after Redis lost its data while the nodes had seen different sequences.
      spdlog::error("cluster: room {} got sequence {} again for another message; dropped",
                    room.name, seq);
    }
    return;
  }
  if (seq > room.settled_seq + 1) {
    // Missed on the channel (Redis was away): held until the hole is read from the stream.
    room.ahead.try_emplace(seq, Room::Ahead{std::move(message), reads_before});
    if (!room.catching_up) catch_up(key);
    return;
  }
  deliver_next(key, room, std::move(message));
  while (!room.ahead.empty() && room.ahead.begin()->first <= room.settled_seq + 1) {
    auto next = room.ahead.extract(room.ahead.begin());
    if (next.key() == room.settled_seq + 1)
      deliver_next(key, room, std::move(next.mapped().message));
  }
}

void HomeRooms::skip_hole(const std::string& key, Room& room) {
  if (room.ahead.empty()) return;
  const std::uint64_t next = room.ahead.begin()->first;
  spdlog::warn("cluster: room {} skipped from {} to {}", room.name, room.settled_seq, next);
  v1::ServerFrame frame;
  auto* gap = frame.mutable_gap();
  gap->set_room(room.name);
  gap->set_from_seq(room.settled_seq + 1);
  gap->set_to_seq(next - 1);
  broadcast(key, room, encode_frame(frame));
  room.settled_seq = next - 1;
  auto first = room.ahead.extract(room.ahead.begin());
  apply_in_order(key, room, std::move(first.mapped().message), first.mapped().reads_before);
}

void HomeRooms::deliver_next(const std::string& key, Room& room, v1::RoomMessage message) {
  const std::uint64_t seq = message.seq();
  room.settled_seq = seq;
  broadcast(key, room, room_message_frame(message, room.name));
  if (!room.recent) room.recent = std::make_unique<RecentHistory>();
  room.recent->push(std::move(message), memory_keep());
  release_acks(room);
}

void HomeRooms::rejoin() {
  for (const auto& [key, room] : rooms_) {
    if (!room.live) continue;
    context_.bus->raise_seq(key, room.settled_seq);
    std::vector<std::pair<std::uint64_t, std::string>> members;
    members.reserve(room.members.size());
    for (const auto& [id, member] : room.members) members.emplace_back(id, member.nick);
    context_.cluster_presence->sync_members(key, room.name, std::move(members));
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
  if (it == rooms_.end() || !it->second.live) return;
  Room& room = it->second;
  room.catching_up = true;
  const std::uint64_t read = ++room.catch_up_reads;
  storage::HistoryQuery query{.kind = storage::HistoryQuery::Kind::after,
                              .seq = room.settled_seq,
                              .limit = shard_.config().max_history};
  context_.room_log->history(
      key, query, [context = &context_, key, read](storage::HistoryResult result) {
        post_to_home(*context, key,
                     [key, read, result = std::move(result)](HomeRooms& rooms) mutable {
                       rooms.on_caught_up(key, read, std::move(result));
                     });
      });
}

// Reads may overlap (a rejoin and a re-subscribe each ask one): every answer's messages are
// applied, but only the last read asked decides whether a hole is gone for good.
void HomeRooms::catch_up_later(const std::string& key, int attempt) {
  auto timer =
      std::make_shared<asio::steady_timer>(shard_.io(), std::chrono::milliseconds(100 << attempt));
  timer->async_wait([this, timer, key](const asio::error_code& error) {
    if (!error) catch_up(key);
  });
}

void HomeRooms::on_caught_up(const std::string& key, std::uint64_t read,
                             storage::HistoryResult result) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live) return;
  Room& room = it->second;
  if (!result.messages.empty()) {
    spdlog::info("cluster: room {} caught up {} message(s) from Redis", room.name,
                 result.messages.size());
  }
  const std::uint64_t last_read = result.messages.empty() ? 0 : result.messages.back().seq();
  // Still catching up meanwhile: a message past a hole here waits for this answer's verdict.
  for (auto& message : result.messages) apply_in_order(key, room, std::move(message), read - 1);
  if (read != room.catch_up_reads) return;
  room.catching_up = false;
  if (!result.ok) {
    // Redis is away: the hole is read when it is back (rejoin). A read that failed otherwise
    // (Redis busy) is no proof that the hole is gone: it is asked again twice, after 0.2 and
    // 0.4 s.
    if (!context_.bus->connected()) return;
    spdlog::warn("cluster: room {} could not catch up: {}", room.name, result.error);
    if (++room.failed_catch_ups < 3) return catch_up_later(key, room.failed_catch_ups);
    if (!room.ahead.empty()) skip_hole(key, room);
  } else {
    room.failed_catch_ups = 0;
    // The stream, read after the message past the hole arrived, lacks the hole: it is gone for
    // good. Unless the page ended before the hole: the rest is read first.
    if (!room.ahead.empty() && room.ahead.begin()->second.reads_before < read &&
        (!result.has_more || room.ahead.begin()->first <= last_read)) {
      skip_hole(key, room);
    }
  }
  if (!room.catching_up && (result.has_more || !room.ahead.empty())) catch_up(key);
}

void HomeRooms::on_room_event(const std::string& key, v1::ServerFrame event) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.live) return;  // a room being loaded reads them from Redis
  Room& room = it->second;
  v1::RoomMessage* kept = nullptr;
  if (event.has_typing()) {
    return broadcast_presence(key, room, encode_frame(event, FramePriority::presence));
  }
  if (event.has_topic_changed()) {
    room.topic = event.topic_changed().topic();
  } else if (event.has_message_edited()) {
    if (room.recent && (kept = room.recent->find(event.message_edited().seq()))) {
      kept->set_text(event.message_edited().text());
      kept->set_edited(true);
    }
  } else if (event.has_message_deleted()) {
    if (room.recent && (kept = room.recent->find(event.message_deleted().seq()))) {
      kept->clear_text();
      kept->set_deleted(true);
    }
  } else {
    return;
  }
  broadcast(key, room, encode_frame(event));
}

void HomeRooms::release_acks(Room& room) {
  while (!room.acks_due.empty() && room.acks_due.begin()->first <= room.settled_seq) {
    auto due = room.acks_due.extract(room.acks_due.begin());
    for (const DueAck& ack : due.mapped()) {
      acknowledge(ack.to, room.name, due.key(), ack.client_msg_id, ack.duplicate);
      if (ack.received_at)
        context_.stats.ack_latency.observe(std::chrono::steady_clock::now() - *ack.received_at);
    }
  }
}

}  // namespace chat::server
