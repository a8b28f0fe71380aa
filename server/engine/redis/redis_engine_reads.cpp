// The engine's reads: accounts, history, a room as a node loads it, read markers, the room list;
// and retention, which the reads apply before answering and a sweep applies to every room.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine_keys.hpp"
#include "redis_connection.hpp"
#include "redis_engine.hpp"
#include "redis_reply.hpp"
#include "redis_router.hpp"
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
  const std::string key = keys::account(nick_key);
  command(key, {"GET", key}, [done = std::move(done)](Reply reply) {
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
       keys::room_script(
           room_key, {keys::room(room_key), kind, std::to_string(query.seq),
                      std::to_string(query.limit + 1), retention_max_len(), retention_min_time()}),
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
       keys::room_script(room_key, {keys::room(room_key), std::to_string(std::max(recent, 1u)),
                                    retention_max_len(), retention_min_time()}),
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
  const std::string members_key = keys::members(room_key);
  command(members_key, {"HGETALL", members_key}, [done = std::move(done)](Reply reply) {
    if (reply.type != Reply::Type::array) return done(std::nullopt);
    RoomMembers members;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      members.emplace_back(reply.elements[i].text, reply.elements[i + 1].text);
    done(std::move(members));
  });
}

// The markers, then each room's display name (in the room's own slot).
void RedisEngine::read_markers(std::string account_key,
                               std::function<void(storage::ReadMarkersResult)> done) {
  const std::string markers = keys::markers(account_key);
  command(markers, {"HGETALL", markers}, [this, done = std::move(done)](Reply reply) mutable {
    auto result = std::make_shared<storage::ReadMarkersResult>();
    if (reply.type != Reply::Type::array) {
      result->error = reply_failure(reply);
      return done(std::move(*result));
    }
    result->ok = true;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      result->markers.push_back({.room_key = reply.elements[i].text,
                                 .room = reply.elements[i].text,
                                 .seq = parse_u64(reply.elements[i + 1].text)});
    }
    std::sort(result->markers.begin(), result->markers.end(),
              [](const auto& a, const auto& b) { return a.room_key < b.room_key; });
    if (result->markers.empty()) return done(std::move(*result));
    auto waiting = std::make_shared<std::size_t>(result->markers.size());
    auto finish = std::make_shared<decltype(done)>(std::move(done));
    for (std::size_t i = 0; i < result->markers.size(); ++i) {
      const std::string name = keys::name(result->markers[i].room_key);
      commands_->command(name, {"GET", name}, [result, i, waiting, finish](Reply named) {
        if (named.type == Reply::Type::string) result->markers[i].room = named.text;
        if (--*waiting == 0) (*finish)(std::move(*result));
      });
    }
  });
}

// A page of the room index, then each room's figures from its own slot; rooms no longer in use
// are skipped (the index keeps them: removing one could race with a join on another node), and
// the next page is read until `count` rooms are found or the index ends.
struct RoomListing {
  std::string from;
  std::string to;
  std::uint32_t count = 0;
  std::vector<std::optional<v1::RoomInfo>> page;
  std::size_t waiting = 0;
  ListedRooms listed;
  std::function<void(ListedRooms)> done;
};

void RedisEngine::list_rooms(const std::string& prefix_key, std::uint32_t count,
                             std::function<void(ListedRooms)> done) {
  // Room keys are valid UTF-8, which never holds the byte 0xff: "[prefix" to "[prefix\xff" is
  // every key that starts with prefix.
  auto listing = std::make_shared<RoomListing>();
  listing->from = prefix_key.empty() ? "-" : "[" + prefix_key;
  listing->to = prefix_key.empty() ? "+" : "[" + prefix_key + "\xff";
  listing->count = count;
  listing->done = std::move(done);
  run([this, listing] { list_more(listing); });
}

void RedisEngine::list_more(std::shared_ptr<RoomListing> listing) {
  const std::uint32_t wanted =
      listing->count - static_cast<std::uint32_t>(listing->listed.rooms.size());
  commands_->command(
      keys::room_index,
      {"ZRANGEBYLEX", keys::room_index, listing->from, listing->to, "LIMIT", "0",
       std::to_string(wanted)},
      [this, listing, wanted](Reply reply) {
        if (reply.type != Reply::Type::array) {
          listing->listed.error = reply_failure(reply);
          return listing->done(std::move(listing->listed));
        }
        const bool index_ended = reply.elements.size() < wanted;
        if (reply.elements.empty()) {
          listing->listed.ok = true;
          return listing->done(std::move(listing->listed));
        }
        listing->from = "(" + reply.elements.back().text;
        listing->page.assign(reply.elements.size(), std::nullopt);
        listing->waiting = reply.elements.size();
        for (std::size_t i = 0; i < reply.elements.size(); ++i) {
          const std::string& room_key = reply.elements[i].text;
          eval_on(
              *commands_, scripts::room_info,
              keys::room_script(room_key, {keys::room(room_key), room_key}),
              [this, listing, i, index_ended](Reply row) {
                if (row.is_error() && listing->listed.error.empty())
                  listing->listed.error = row.text;
                if (row.elements.size() == 4) {
                  v1::RoomInfo info;
                  info.set_room(row.elements[0].text);
                  info.set_member_count(static_cast<std::uint32_t>(reply_number(row.elements[1])));
                  info.set_topic(row.elements[2].text);
                  info.set_last_seq(reply_number(row.elements[3]));
                  listing->page[i] = std::move(info);
                }
                if (--listing->waiting > 0) return;
                for (auto& room : listing->page)
                  if (room) listing->listed.rooms.push_back(std::move(*room));
                listing->page.clear();
                if (!listing->listed.error.empty()) {
                  listing->listed.rooms.clear();
                  return listing->done(std::move(listing->listed));
                }
                if (index_ended || listing->listed.rooms.size() >= listing->count) {
                  listing->listed.ok = true;
                  return listing->done(std::move(listing->listed));
                }
                list_more(listing);
              });
        }
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
  if (options_.retention_seconds == 0 || sweeping_ || now < next_sweep_ || !commands_->ready())
    return;
  const auto period =
      std::clamp<std::chrono::milliseconds>(std::chrono::seconds(options_.retention_seconds) / 10,
                                            std::chrono::seconds(1), std::chrono::seconds(60));
  next_sweep_ = now + period;
  sweeping_ = true;
  command(keys::sweep_lock,
          {"SET", keys::sweep_lock, node_id_, "NX", "PX", std::to_string(period.count())},
          [this](Reply reply) {
            if (reply.type == Reply::Type::status) return sweep("");  // this node's turn
            sweeping_ = false;
          });
}

// A page of the room index, each of its rooms trimmed in its own slot, then the next page.
void RedisEngine::sweep(std::string cursor) {
  const std::string from = cursor.empty() ? "-" : "(" + cursor;
  command(
      keys::room_index,
      {"ZRANGEBYLEX", keys::room_index, from, "+", "LIMIT", "0", std::to_string(rooms_per_sweep)},
      [this](Reply reply) {
        if (reply.type != Reply::Type::array) {
          sweeping_ = false;  // tried again with the next heartbeat
          return;
        }
        std::vector<std::string> room_keys;
        for (const Reply& key : reply.elements) room_keys.push_back(key.text);
        std::string next = room_keys.size() == rooms_per_sweep ? room_keys.back() : "";
        trim_rooms(std::move(room_keys), std::move(next));
      });
}

void RedisEngine::trim_rooms(std::vector<std::string> room_keys, std::string next_cursor) {
  if (room_keys.empty()) {
    if (next_cursor.empty()) {
      sweeping_ = false;
    } else {
      sweep(std::move(next_cursor));
    }
    return;
  }
  struct Pass {
    std::size_t waiting = 0;
    std::uint64_t dropped = 0;
    std::string next;
  };
  auto pass = std::make_shared<Pass>();
  pass->waiting = room_keys.size();
  pass->next = std::move(next_cursor);
  for (const std::string& room_key : room_keys) {
    eval_on(*commands_, scripts::trim_room,
            keys::room_script(room_key,
                              {keys::room(room_key), retention_max_len(), retention_min_time()}),
            [this, pass](Reply reply) {
              pass->dropped += reply_number(reply);
              if (--pass->waiting > 0) return;
              if (pass->dropped > 0)
                spdlog::debug("redis: retention removed {} message(s)", pass->dropped);
              trim_rooms({}, std::move(pass->next));
            });
  }
}

}  // namespace chat::server::redis
