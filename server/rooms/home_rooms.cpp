#include "home_rooms.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>

#include "cluster_rooms.hpp"
#include "names.hpp"
#include "shard.hpp"
#include "single_node_sharing.hpp"
#include "wall_clock.hpp"

namespace chat::server {

HomeRooms::HomeRooms(Shard& shard, ServerContext& context)
    : shard_(shard), context_(context), fanout_(shard, context) {
  if (context.bus) {
    auto cluster = std::make_unique<ClusterRooms>(*this);
    cluster_ = cluster.get();
    sharing_ = std::move(cluster);
  } else {
    sharing_ = std::make_unique<SingleNodeSharing>(*this);
  }
}

HomeRooms::~HomeRooms() = default;

Room* HomeRooms::find(const std::string& key) {
  auto it = rooms_.find(key);
  return it == rooms_.end() ? nullptr : &it->second;
}

void HomeRooms::for_each_room(
    const std::function<void(const std::string& key, Room& room)>& visit) {
  for (auto& [key, room] : rooms_) visit(key, room);
}

Room* HomeRooms::find_member_room(const std::string& key, SessionRef who,
                                  std::uint64_t request_id) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.has_member(who.id)) {
    fanout_.reply_error(who, request_id, v1::Error::NOT_IN_ROOM, "not a member of that room");
    return nullptr;
  }
  return &it->second;
}

std::size_t HomeRooms::memory_keep() const {
  const ServerConfig& config = shard_.config();
  if (config.retention_messages == 0) return config.history_in_memory;
  return std::min(config.history_in_memory, config.retention_messages);
}

void HomeRooms::expire(Room& room) const {
  const std::uint32_t seconds = shard_.config().retention_seconds;
  if (seconds != 0) room.forget_older_than(unix_time_ms() - std::int64_t{seconds} * 1000);
}

void HomeRooms::restore(const storage::RoomRecord& record, std::vector<v1::RoomMessage> recent) {
  Room& room =
      rooms_.try_emplace(record.key, record.name, context_.shards.size(), /*clustered=*/false)
          .first->second;  // only the embedded store restores rooms
  room.set_topic(record.topic);
  room.order().reset(record.last_seq);
  room.replace_history(std::move(recent), memory_keep());
}

void HomeRooms::join(JoinArgs args) {
  assert(shard_.on_own_thread());
  auto it =
      rooms_.try_emplace(args.key, args.room, context_.shards.size(), sharing_->clustered()).first;
  Room& room = it->second;
  if (!room.live()) return sharing_->hold_join(std::move(args), room);
  const bool already = room.has_member(args.who.id);
  if (!already && room.members().size() >= shard_.config().max_members_per_room) {
    fanout_.refuse_join(args, v1::Error::ROOM_FULL, "the room is full");
    if (room.members().empty()) rooms_.erase(it);
    return;
  }
  if (!already) {
    room.add_member(args.who, args.nick);
    sharing_->announce(args.key, room, args.who.id,
                       Presence{.change = Presence::Change::joined,
                                .node = {},
                                .field = {},
                                .nick = args.nick,
                                .detail = {},
                                .account = args.account,
                                .real_name = args.real_name,
                                .quit = false},
                       false);
  }
  expire(room);

  std::vector<SharedFrame> frames;
  v1::ServerFrame reply;
  reply.set_request_id(args.request_id);
  auto* join_reply = reply.mutable_join_reply();
  join_reply->set_room(room.name());
  join_reply->set_topic(room.topic());
  join_reply->set_last_seq(room.settled_seq());
  join_reply->set_member_count(static_cast<std::uint32_t>(room.member_total()));
  frames.push_back(encode_frame(reply));
  // Within half the outbox's soft limit, so that catching up never makes a client look slow.
  auto catch_up = room.catch_up_frames(args, shard_.config().outbox_soft_bytes / 2);
  frames.insert(frames.end(), catch_up.begin(), catch_up.end());
  with_client(context_, args.who,
              [key = args.key, name = room.name(), frames = std::move(frames)](
                  ClientSession& s) mutable { s.on_joined(key, name, std::move(frames)); });

  if (!already) {
    v1::ServerFrame event;
    event.mutable_member_joined()->set_room(room.name());
    event.mutable_member_joined()->set_nick(args.nick);
    event.mutable_member_joined()->set_account(args.account);
    event.mutable_member_joined()->set_real_name(args.real_name);
    fanout_.broadcast_presence(args.key, room, encode_frame(event, FramePriority::presence));
  }
}

void HomeRooms::leave(const std::string& key, SessionRef who, const std::string& reason,
                      bool quit) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  room.drop_held_join(who.id);
  const std::optional<std::string> nick = room.remove_member(who);
  if (!nick) return;
  sharing_->announce(key, room, who.id,
                     Presence{.change = Presence::Change::left,
                              .node = {},
                              .field = {},
                              .nick = *nick,
                              .detail = reason,
                              .account = false,
                              .real_name = {},
                              .quit = quit},
                     room.members().empty());
  if (room.members().empty()) {
    if (!sharing_->keep_when_empty(key, room)) rooms_.erase(it);
    return;
  }
  v1::ServerFrame event;
  event.mutable_member_left()->set_room(room.name());
  event.mutable_member_left()->set_nick(*nick);
  event.mutable_member_left()->set_reason(reason);
  event.mutable_member_left()->set_quit(quit);
  fanout_.broadcast_presence(key, room, encode_frame(event, FramePriority::presence));
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
  if (it == rooms_.end() || !it->second.has_member(who.id)) return;
  room_field = it->second.name();
  fanout_.broadcast_presence(key, it->second, encode_frame(event, FramePriority::presence));
  sharing_->relay(key, event);
}

void HomeRooms::rename(const std::string& key, SessionRef who, const std::string& new_nick) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room::Member* member = it->second.find_member(who.id);
  if (!member) return;
  v1::ServerFrame event;
  event.mutable_nick_changed()->set_room(it->second.name());
  event.mutable_nick_changed()->set_old_nick(member->nick);
  event.mutable_nick_changed()->set_new_nick(new_nick);
  sharing_->announce(key, it->second, who.id,
                     Presence{.change = Presence::Change::renamed,
                              .node = {},
                              .field = {},
                              .nick = new_nick,
                              .detail = member->nick,
                              .account = false,
                              .real_name = {},
                              .quit = false},
                     false);
  member->nick = new_nick;
  fanout_.broadcast_presence(key, it->second, encode_frame(event, FramePriority::presence));
}

void HomeRooms::set_topic(const std::string& key, SessionRef who, const std::string& topic,
                          std::uint64_t request_id) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(key, who, request_id);
  if (!room) return;
  v1::ServerFrame event;
  event.mutable_topic_changed()->set_room(room->name());
  event.mutable_topic_changed()->set_topic(topic);
  event.mutable_topic_changed()->set_by(room->find_member(who.id)->nick);
  // Shown and confirmed once stored: a topic Redis (or the disk) did not take is refused.
  sharing_->store_topic(
      key, *room, event,
      answer_at_home<storage::WriteResult>(
          context_, key,
          [key, who, request_id, event](HomeRooms& rooms, storage::WriteResult result) {
            rooms.on_topic_stored(key, who, request_id, event, result);
          }));
}

void HomeRooms::on_topic_stored(const std::string& key, SessionRef who, std::uint64_t request_id,
                                const v1::ServerFrame& event, const storage::WriteResult& stored) {
  if (!stored.ok) {
    spdlog::error("store: the topic of {} was not stored: {}", event.topic_changed().room(),
                  stored.error);
    return fanout_.reply_error(who, request_id, sharing_->refusal_when_not_stored(),
                               "the topic could not be stored; try again");
  }
  if (Room* room = find(key)) sharing_->topic_stored(key, *room, event);
  fanout_.reply_ok(who, request_id);
}

void HomeRooms::who(const std::string& key, SessionRef asker, std::uint64_t request_id,
                    std::uint32_t limit) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(key, asker, request_id);
  if (!room) return;
  const std::vector<const std::string*> nicks = room->nicks(limit);
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  auto* list = frame.mutable_member_list();
  list->set_room(room->name());
  list->set_member_count(static_cast<std::uint32_t>(room->member_total()));
  for (const std::string* nick : nicks) list->add_nicks(*nick);
  fanout_.reply(asker, encode_frame(frame));
}

std::vector<v1::RoomInfo> HomeRooms::list(const std::string& prefix_key) const {
  std::vector<v1::RoomInfo> rooms;
  for (const auto& [key, room] : rooms_) {
    if (key.compare(0, prefix_key.size(), prefix_key) != 0) continue;
    rooms.push_back(room.info());
  }
  return rooms;
}

std::size_t HomeRooms::member_count() const {
  std::size_t count = 0;
  for (const auto& [key, room] : rooms_) count += room.members().size();
  return count;
}

}  // namespace chat::server
