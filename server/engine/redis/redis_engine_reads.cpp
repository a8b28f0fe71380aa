// The engine's reads: accounts, history, a room as a node loads it, read markers, the room list;
// and retention, which the reads apply before answering and a sweep applies to every room.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine_keys.hpp"
#include "redis_connection.hpp"
#include "redis_engine.hpp"
#include "redis_reply.hpp"
#include "redis_scripts.hpp"
#include "wall_clock.hpp"

namespace chat::server::redis {
namespace {

constexpr std::uint32_t rooms_per_sweep = 100;

// {{seq, message}...} -> messages with their sequences, in the order given.
std::vector<v1::RoomMessage> messages_of(const Reply& entries) {
  std::vector<v1::RoomMessage> messages;
  messages.reserve(entries.elements.size());
  for (const Reply& entry : entries.elements) {
    if (entry.elements.size() != 2) continue;
    v1::RoomMessage message;
    if (!message.ParseFromString(entry.elements[1].text)) continue;
    message.set_seq(parse_u64(entry.elements[0].text));
    messages.push_back(std::move(message));
  }
  return messages;
}

}  // namespace

void RedisEngine::find_account(std::string nick_key,
                               std::function<void(storage::FindAccountResult)> done) {
  command({"HGET", keys::accounts, nick_key}, [done = std::move(done)](Reply reply) {
    storage::FindAccountResult result;
    if (reply.is_error()) {
      result.error = reply.text;
    } else {
      result.ok = true;
      if (!reply.is_nil()) result.password_hash = reply.text;
    }
    done(std::move(result));
  });
}

void RedisEngine::history(std::string room_key, storage::HistoryQuery query,
                          std::function<void(storage::HistoryResult)> done) {
  using Kind = storage::HistoryQuery::Kind;
  const char* kind = query.kind == Kind::after    ? "after"
                     : query.kind == Kind::before ? "before"
                                                  : "latest";
  eval(scripts::history,
       {"0", keys::room(room_key), kind, std::to_string(query.seq), std::to_string(query.limit + 1),
        retention_max_len(), retention_min_time()},
       [query, done = std::move(done)](Reply reply) {
         storage::HistoryResult result;
         if (reply.type != Reply::Type::array || reply.elements.size() != 2) {
           result.error = reply_failure(reply);
           return done(std::move(result));
         }
         result.ok = true;
         const std::uint64_t oldest = reply_number(reply.elements[0]);
         result.messages = messages_of(reply.elements[1]);
         if (result.messages.size() > query.limit) {
           result.has_more = true;
           result.messages.pop_back();  // the one past the page, in paging order
         }
         if (query.kind != Kind::after)
           std::reverse(result.messages.begin(), result.messages.end());
         // Retention trimmed the stream below `oldest`: say so where the page reaches it.
         if (oldest > 1) {
           if (query.kind == Kind::after && query.seq + 1 < oldest) {
             result.gap = {{query.seq + 1, oldest - 1}};
           } else if (query.kind != Kind::after && !result.has_more) {
             std::uint64_t top = oldest - 1;
             if (query.kind == Kind::before) top = std::min(top, query.seq - 1);
             if (top >= 1) result.gap = {{1, top}};
           }
         }
         done(std::move(result));
       });
}

void RedisEngine::load_room(const std::string& room_key, std::uint32_t recent,
                            std::function<void(LoadedRoom)> done) {
  // A leave of this node's Redis missed in the room: its records there are made right first (it
  // has no members there while the room loads; the joins waiting are announced after).
  run([this, room_key] {
    if (unsynced_rooms_.contains(room_key)) send_sync(room_key, room_key, {});
  });
  eval(scripts::load_room,
       {"1", keys::rooms, keys::room(room_key), std::to_string(std::max(recent, 1u)), room_key,
        retention_max_len(), retention_min_time()},
       [recent, done = std::move(done)](Reply reply) {
         LoadedRoom room;
         if (reply.type != Reply::Type::array || reply.elements.size() != 5) {
           room.error = reply_failure(reply);
           return done(std::move(room));
         }
         room.ok = true;
         room.last_seq = reply_number(reply.elements[0]);
         room.topic = reply.elements[1].text;
         room.name = reply.elements[2].text;
         if (recent > 0) room.recent = messages_of(reply.elements[3]);
         std::reverse(room.recent.begin(), room.recent.end());
         const auto& members = reply.elements[4].elements;
         for (std::size_t i = 0; i + 1 < members.size(); i += 2)
           room.members.emplace_back(members[i].text, members[i + 1].text);
         done(std::move(room));
       });
}

void RedisEngine::room_members(const std::string& room_key,
                               std::function<void(std::optional<RoomMembers>)> done) {
  command({"HGETALL", keys::members(room_key)}, [done = std::move(done)](Reply reply) {
    if (reply.type != Reply::Type::array) return done(std::nullopt);
    RoomMembers members;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      members.emplace_back(reply.elements[i].text, reply.elements[i + 1].text);
    done(std::move(members));
  });
}

void RedisEngine::read_markers(std::string account_key,
                               std::function<void(storage::ReadMarkersResult)> done) {
  eval(scripts::read_markers, {"2", keys::markers(account_key), keys::rooms},
       [done = std::move(done)](Reply reply) {
         storage::ReadMarkersResult result;
         if (reply.type != Reply::Type::array) {
           result.error = reply_failure(reply);
           return done(std::move(result));
         }
         result.ok = true;
         for (const Reply& row : reply.elements) {
           if (row.elements.size() != 3) continue;
           result.markers.push_back({.room_key = row.elements[0].text,
                                     .room = row.elements[1].text,
                                     .seq = parse_u64(row.elements[2].text)});
         }
         std::sort(result.markers.begin(), result.markers.end(),
                   [](const auto& a, const auto& b) { return a.room_key < b.room_key; });
         done(std::move(result));
       });
}

void RedisEngine::list_rooms(const std::string& prefix_key, std::uint32_t count,
                             std::function<void(ListedRooms)> done) {
  // Room keys are valid UTF-8, which never holds the byte 0xff: "[prefix" to "[prefix\xff" is
  // every key that starts with prefix.
  const std::string from = prefix_key.empty() ? "-" : "[" + prefix_key;
  const std::string to = prefix_key.empty() ? "+" : "[" + prefix_key + "\xff";
  eval(scripts::list_rooms,
       {"2", keys::rooms, keys::room_index, keys::rooms_prefix, from, to, std::to_string(count)},
       [done = std::move(done)](Reply reply) {
         ListedRooms listed;
         if (reply.type != Reply::Type::array) {
           listed.error = reply_failure(reply);
           return done(std::move(listed));
         }
         listed.ok = true;
         for (const Reply& row : reply.elements) {
           if (row.elements.size() != 5) continue;
           v1::RoomInfo info;
           info.set_room(row.elements[1].text);
           info.set_member_count(static_cast<std::uint32_t>(reply_number(row.elements[2])));
           info.set_topic(row.elements[3].text);
           info.set_last_seq(reply_number(row.elements[4]));
           listed.rooms.push_back(std::move(info));
         }
         done(std::move(listed));
       });
}

std::string RedisEngine::retention_max_len() const {
  return std::to_string(options_.retention_messages);
}

std::string RedisEngine::retention_min_time() const {
  if (options_.retention_seconds == 0) return "0";
  return std::to_string(unix_time_ms() - std::int64_t{options_.retention_seconds} * 1000);
}

void RedisEngine::start_sweep() {
  const auto now = std::chrono::steady_clock::now();
  if (options_.retention_seconds == 0 || sweeping_ || now < next_sweep_ || !commands_->connected())
    return;
  const auto period =
      std::clamp<std::chrono::milliseconds>(std::chrono::seconds(options_.retention_seconds) / 10,
                                            std::chrono::seconds(1), std::chrono::seconds(60));
  next_sweep_ = now + period;
  sweeping_ = true;
  command({"SET", keys::sweep_lock, node_id_, "NX", "PX", std::to_string(period.count())},
          [this](Reply reply) {
            if (reply.type == Reply::Type::status) return sweep("");  // this node's turn
            sweeping_ = false;
          });
}

void RedisEngine::sweep(std::string cursor) {
  eval(scripts::sweep,
       {"1", keys::room_index, keys::rooms_prefix, std::move(cursor),
        std::to_string(rooms_per_sweep), retention_max_len(), retention_min_time()},
       [this](Reply reply) {
         if (reply.type != Reply::Type::array || reply.elements.size() != 2) {
           sweeping_ = false;  // tried again with the next heartbeat
           return;
         }
         if (const auto dropped = reply_number(reply.elements[1]); dropped > 0)
           spdlog::debug("redis: retention removed {} message(s)", dropped);
         if (reply.elements[0].text.empty()) {
           sweeping_ = false;
         } else {
           sweep(reply.elements[0].text);
         }
       });
}

}  // namespace chat::server::redis
