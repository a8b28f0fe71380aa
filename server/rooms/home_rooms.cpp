#include "home_rooms.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>

#include "names.hpp"
#include "shard.hpp"
#include "wall_clock.hpp"

namespace chat::server {

SharedFrame room_message_frame(const v1::RoomMessage& message, const std::string& room) {
  v1::ServerFrame frame;
  *frame.mutable_room_message() = message;
  return encode_chat_frame(frame, room, message.seq());
}

const std::deque<v1::RoomMessage>& HomeRooms::Room::history() const {
  static const std::deque<v1::RoomMessage> none;
  return recent ? recent->messages() : none;
}

void HomeRooms::broadcast(const std::string& key, const Room& room, const SharedFrame& frame) {
  assert(shard_.on_own_thread());
  for (std::uint32_t i = 0; i < room.members_per_shard.size(); ++i) {
    if (room.members_per_shard[i] == 0) continue;
    Shard& target = *context_.shards[i];
    target.post([&target, key, frame] {
      const std::size_t n = target.local_rooms().deliver(key, frame);
      ServerStats::add(target.context().stats.deliveries, n);
    });
  }
}

void HomeRooms::broadcast_presence(const std::string& key, const Room& room,
                                   const SharedFrame& frame) {
  const std::uint32_t cap = shard_.config().max_presence_members;
  if (cap == 0 || member_total(room) <= cap) broadcast(key, room, frame);
}

void HomeRooms::reply_error(SessionRef to, std::uint64_t request_id, v1::Error::Code code,
                            std::string message) {
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  frame.mutable_error()->set_code(code);
  frame.mutable_error()->set_message(std::move(message));
  ServerStats::add(context_.stats.errors[code]);
  send_to_session(context_, to, encode_frame(frame));
}

HomeRooms::Room* HomeRooms::find_member_room(const std::string& key, SessionRef who,
                                             std::uint64_t request_id) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.members.contains(who.id)) {
    reply_error(who, request_id, v1::Error::NOT_IN_ROOM, "not a member of that room");
    return nullptr;
  }
  return &it->second;
}

// What a join or resume sends before live traffic. It is bounded by half the outbox's soft limit,
// so that catching up never makes a client look slow: on resume, what does not fit is announced
// as a Gap (the client pages it in with History); join history just starts later.
std::vector<SharedFrame> HomeRooms::catch_up_frames(const Room& room, const JoinArgs& args) const {
  const auto& recent = room.history();
  std::uint64_t after = 0;
  if (args.resume_after) {
    after = std::min(*args.resume_after,
                     room.settled_seq());  // a sequence in the future: nothing missed
  } else {
    after = room.settled_seq() - std::min<std::uint64_t>(room.settled_seq(), args.history);
  }
  std::vector<SharedFrame> messages;  // newest first while collecting
  std::size_t budget = shard_.config().outbox_soft_bytes / 2;
  std::uint64_t first_sent = room.settled_seq() + 1;
  for (auto it = recent.rbegin(); it != recent.rend() && it->seq() > after; ++it) {
    SharedFrame frame = room_message_frame(*it, room.name);
    if (frame->bytes.size() > budget) break;
    budget -= frame->bytes.size();
    first_sent = it->seq();
    messages.push_back(std::move(frame));
  }
  std::vector<SharedFrame> frames;
  if (args.resume_after && after + 1 < first_sent) {
    v1::ServerFrame frame;
    auto* gap = frame.mutable_gap();
    gap->set_room(room.name);
    gap->set_from_seq(after + 1);
    gap->set_to_seq(first_sent - 1);
    frames.push_back(encode_frame(frame));
  }
  frames.insert(frames.end(), messages.rbegin(), messages.rend());
  return frames;
}

std::size_t HomeRooms::memory_keep() const {
  const ServerConfig& config = shard_.config();
  if (config.retention_messages == 0) return config.history_in_memory;
  return std::min(config.history_in_memory, config.retention_messages);
}

void HomeRooms::expire(Room& room) const {
  const std::uint32_t seconds = shard_.config().retention_seconds;
  if (seconds == 0 || !room.recent) return;
  room.recent->drop_older_than(unix_time_ms() - std::int64_t{seconds} * 1000);
}

void HomeRooms::restore(const storage::RoomRecord& record, std::vector<v1::RoomMessage> recent) {
  Room& room = rooms_[record.key];
  room.name = record.name;
  room.topic = record.topic;
  room.order.reset(record.last_seq);
  room.members_per_shard.assign(context_.shards.size(), 0);
  if (recent.empty()) return;
  room.recent = std::make_unique<RecentHistory>();
  for (auto& message : recent) room.recent->push(std::move(message), memory_keep());
}

void HomeRooms::join(JoinArgs args) {
  assert(shard_.on_own_thread());
  auto [it, created] = rooms_.try_emplace(args.key);
  Room& room = it->second;
  if (created) {
    room.name = args.room;
    room.members_per_shard.assign(context_.shards.size(), 0);
    room.live = context_.bus == nullptr;
  }
  if (!room.live) {
    if (!room.loading && !context_.bus->connected()) {
      // Loading needs Redis: refused now rather than left waiting until it is back.
      refuse_join(args, v1::Error::UNAVAILABLE, "the cluster store is unavailable; try again");
      rooms_.erase(it);
      return;
    }
    const std::string key = args.key;
    room.waiting_joins.push_back(std::move(args));
    if (!room.loading) start_loading(key, room);
    return;
  }
  const bool already = room.members.contains(args.who.id);
  if (!already && room.members.size() >= shard_.config().max_members_per_room) {
    refuse_join(args, v1::Error::ROOM_FULL, "the room is full");
    if (room.members.empty()) rooms_.erase(it);
    return;
  }
  if (!already) {
    room.members.emplace(args.who.id, Member{args.who, args.nick});
    ++room.members_per_shard[args.who.shard];
    if (context_.bus) {
      context_.cluster_presence->announce(args.key, room.name, args.who.id,
                                          Presence{.change = Presence::Change::joined,
                                                   .node = {},
                                                   .field = {},
                                                   .nick = args.nick,
                                                   .detail = {},
                                                   .account = args.account,
                                                   .real_name = args.real_name,
                                                   .quit = false});
    }
  }
  expire(room);

  std::vector<SharedFrame> frames;
  v1::ServerFrame reply;
  reply.set_request_id(args.request_id);
  auto* join_reply = reply.mutable_join_reply();
  join_reply->set_room(room.name);
  join_reply->set_topic(room.topic);
  join_reply->set_last_seq(room.settled_seq());
  join_reply->set_member_count(static_cast<std::uint32_t>(member_total(room)));
  frames.push_back(encode_frame(reply));
  auto catch_up = catch_up_frames(room, args);
  frames.insert(frames.end(), catch_up.begin(), catch_up.end());
  with_client(context_, args.who,
              [key = args.key, name = room.name, frames = std::move(frames)](
                  ClientSession& s) mutable { s.on_joined(key, name, std::move(frames)); });

  if (!already) {
    v1::ServerFrame event;
    event.mutable_member_joined()->set_room(room.name);
    event.mutable_member_joined()->set_nick(args.nick);
    event.mutable_member_joined()->set_account(args.account);
    event.mutable_member_joined()->set_real_name(args.real_name);
    broadcast_presence(args.key, room, encode_frame(event, FramePriority::presence));
  }
}

void HomeRooms::refuse_join(const JoinArgs& join, v1::Error::Code code, const char* why) {
  v1::ServerFrame frame;
  frame.set_request_id(join.request_id);
  frame.mutable_error()->set_code(code);
  frame.mutable_error()->set_message(why);
  with_client(context_, join.who, [key = join.key, error = encode_frame(frame)](ClientSession& s) {
    s.on_join_failed(key, error);
  });
}

void HomeRooms::leave(const std::string& key, SessionRef who, const std::string& reason,
                      bool quit) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  std::erase_if(room.waiting_joins, [&](const JoinArgs& join) { return join.who.id == who.id; });
  auto member = room.members.find(who.id);
  if (member == room.members.end()) return;
  const std::string nick = member->second.nick;
  room.members.erase(member);
  --room.members_per_shard[who.shard];
  if (context_.bus) {
    context_.cluster_presence->announce(key, room.name, who.id,
                                        Presence{.change = Presence::Change::left,
                                                 .node = {},
                                                 .field = {},
                                                 .nick = nick,
                                                 .detail = reason,
                                                 .account = false,
                                                 .real_name = {},
                                                 .quit = quit},
                                        room.members.empty());
  }
  if (room.members.empty() && context_.bus) {
    // No longer followed here: the next join loads it again from Redis.
    context_.bus->unsubscribe(key);
    rooms_.erase(it);
    return;
  }
  if (room.members.empty()) {
    // The store keeps the room; memory keeps what the next join shows, or nothing if it is unused.
    if (room.settled_seq() == 0 && room.topic.empty()) {
      rooms_.erase(it);
    } else if (room.recent) {
      room.recent->trim(shard_.config().history_on_join);
    }
    return;
  }
  v1::ServerFrame event;
  event.mutable_member_left()->set_room(room.name);
  event.mutable_member_left()->set_nick(nick);
  event.mutable_member_left()->set_reason(reason);
  event.mutable_member_left()->set_quit(quit);
  broadcast_presence(key, room, encode_frame(event, FramePriority::presence));
}

void HomeRooms::typing(const std::string& key, SessionRef who, const std::string& nick) {
  v1::ServerFrame event;
  event.mutable_typing()->set_nick(nick);
  relay_member_event(key, who, event, *event.mutable_typing()->mutable_room());
}

void HomeRooms::away(const std::string& key, SessionRef who, const std::string& nick,
                     const std::string& message) {
  v1::ServerFrame event;
  event.mutable_away_changed()->set_nick(nick);
  event.mutable_away_changed()->set_message(message);
  relay_member_event(key, who, event, *event.mutable_away_changed()->mutable_room());
}

void HomeRooms::relay_member_event(const std::string& key, SessionRef who, v1::ServerFrame& event,
                                   std::string& room_field) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.members.contains(who.id)) return;
  room_field = it->second.name;
  broadcast_presence(key, it->second, encode_frame(event, FramePriority::presence));
  if (context_.bus) context_.bus->relay(key, event);
}

void HomeRooms::rename(const std::string& key, SessionRef who, const std::string& new_nick) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  auto member = it->second.members.find(who.id);
  if (member == it->second.members.end()) return;
  v1::ServerFrame event;
  event.mutable_nick_changed()->set_room(it->second.name);
  event.mutable_nick_changed()->set_old_nick(member->second.nick);
  event.mutable_nick_changed()->set_new_nick(new_nick);
  if (context_.bus) {
    context_.cluster_presence->announce(key, it->second.name, who.id,
                                        Presence{.change = Presence::Change::renamed,
                                                 .node = {},
                                                 .field = {},
                                                 .nick = new_nick,
                                                 .detail = member->second.nick,
                                                 .account = false,
                                                 .real_name = {},
                                                 .quit = false});
  }
  member->second.nick = new_nick;
  broadcast_presence(key, it->second, encode_frame(event, FramePriority::presence));
}

void HomeRooms::set_topic(const std::string& key, SessionRef who, const std::string& topic,
                          std::uint64_t request_id) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(key, who, request_id);
  if (!room) return;
  v1::ServerFrame event;
  event.mutable_topic_changed()->set_room(room->name);
  event.mutable_topic_changed()->set_topic(topic);
  event.mutable_topic_changed()->set_by(room->members.at(who.id).nick);
  // Shown and confirmed once stored: a topic Redis (or the disk) did not take is refused.
  auto stored = [context = &context_, key, who, request_id, event](storage::WriteResult result) {
    post_to_home(*context, key, [key, who, request_id, event, result](HomeRooms& rooms) {
      rooms.on_topic_stored(key, who, request_id, event, result);
    });
  };
  if (context_.bus) {
    context_.bus->set_topic_for_all(key, room->name, event, std::move(stored));
  } else {
    context_.room_log->set_topic(key, room->name, topic, std::move(stored));
  }
}

void HomeRooms::on_topic_stored(const std::string& key, SessionRef who, std::uint64_t request_id,
                                const v1::ServerFrame& event, const storage::WriteResult& stored) {
  if (!stored.ok) {
    spdlog::error("store: the topic of {} was not stored: {}", event.topic_changed().room(),
                  stored.error);
    return reply_error(who, request_id, context_.bus ? v1::Error::UNAVAILABLE : v1::Error::INTERNAL,
                       "the topic could not be stored; try again");
  }
  // In a cluster the change is shown when it comes back on the room's channel, in Redis's order.
  if (auto it = rooms_.find(key); it != rooms_.end() && !context_.bus) {
    it->second.topic = event.topic_changed().topic();
    broadcast(key, it->second, encode_frame(event));
  }
  v1::ServerFrame ok;
  ok.set_request_id(request_id);
  ok.mutable_ok();
  send_to_session(context_, who, encode_frame(ok));
}

void HomeRooms::who(const std::string& key, SessionRef asker, std::uint64_t request_id,
                    std::uint32_t limit) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(key, asker, request_id);
  if (!room) return;
  // With a limit, the first members found (not the first by name: an IRC JOIN asks for a few
  // hundred names of a room that may have ten thousand, and choosing them by name would cost the
  // whole room on every join); the names listed are sorted either way.
  const std::size_t total = member_total(*room);
  const std::size_t listed = limit == 0 ? total : std::min<std::size_t>(limit, total);
  std::vector<const std::string*> nicks;
  nicks.reserve(listed);
  for (const auto& [id, member] : room->members) {
    if (nicks.size() == listed) break;
    nicks.push_back(&member.nick);
  }
  for (const auto& [field, nick] : room->remote.members()) {
    if (nicks.size() == listed) break;
    nicks.push_back(&nick);
  }
  std::sort(nicks.begin(), nicks.end(),
            [](const std::string* a, const std::string* b) { return name_key_less(*a, *b); });
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  auto* list = frame.mutable_member_list();
  list->set_room(room->name);
  list->set_member_count(static_cast<std::uint32_t>(total));
  for (const std::string* nick : nicks) list->add_nicks(*nick);
  send_to_session(context_, asker, encode_frame(frame));
}

std::vector<v1::RoomInfo> HomeRooms::list(const std::string& prefix_key) const {
  std::vector<v1::RoomInfo> rooms;
  for (const auto& [key, room] : rooms_) {
    if (key.compare(0, prefix_key.size(), prefix_key) != 0) continue;
    v1::RoomInfo info;
    info.set_room(room.name);
    info.set_member_count(static_cast<std::uint32_t>(member_total(room)));
    info.set_topic(room.topic);
    info.set_last_seq(room.settled_seq());
    rooms.push_back(std::move(info));
  }
  return rooms;
}

std::size_t HomeRooms::member_count() const {
  std::size_t count = 0;
  for (const auto& [key, room] : rooms_) count += room.members.size();
  return count;
}

}  // namespace chat::server
