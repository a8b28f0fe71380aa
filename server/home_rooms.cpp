#include "home_rooms.hpp"

#include <algorithm>
#include <chrono>

#include "names.hpp"
#include "session.hpp"
#include "shard.hpp"
#include "wall_clock.hpp"

namespace chat::server {
namespace {

SharedFrame room_message_frame(const v1::RoomMessage& message, const std::string& room) {
  v1::ServerFrame frame;
  *frame.mutable_room_message() = message;
  return encode_chat_frame(frame, room, message.seq());
}

}  // namespace

const std::deque<v1::RoomMessage>& HomeRooms::Room::history() const {
  static const std::deque<v1::RoomMessage> none;
  return recent ? recent->messages() : none;
}

void HomeRooms::broadcast(const std::string& key, const Room& room, const SharedFrame& frame) {
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
  if (cap == 0 || room.members.size() <= cap) broadcast(key, room, frame);
}

void HomeRooms::reply_error(SessionRef to, std::uint64_t request_id, v1::Error::Code code,
                            std::string message) {
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  frame.mutable_error()->set_code(code);
  frame.mutable_error()->set_message(std::move(message));
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
    after =
        std::min(*args.resume_after, room.last_seq);  // a sequence in the future: nothing missed
  } else {
    after = room.last_seq - std::min<std::uint64_t>(room.last_seq, args.history);
  }
  std::vector<SharedFrame> messages;  // newest first while collecting
  std::size_t budget = shard_.config().outbox_soft_bytes / 2;
  std::uint64_t first_sent = room.last_seq + 1;
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

void HomeRooms::join(JoinArgs args) {
  auto [it, created] = rooms_.try_emplace(args.key);
  Room& room = it->second;
  if (created) {
    room.name = args.room;
    room.members_per_shard.assign(context_.shards.size(), 0);
  }
  const bool already = room.members.contains(args.who.id);
  if (!already && room.members.size() >= shard_.config().max_members_per_room) {
    v1::ServerFrame frame;
    frame.set_request_id(args.request_id);
    frame.mutable_error()->set_code(v1::Error::ROOM_FULL);
    frame.mutable_error()->set_message("the room is full");
    with_session(context_, args.who, [key = args.key, error = encode_frame(frame)](Session& s) {
      s.on_join_failed(key, error);
    });
    if (room.members.empty()) rooms_.erase(it);
    return;
  }
  if (!already) {
    room.members.emplace(args.who.id, Member{args.who, args.nick});
    ++room.members_per_shard[args.who.shard];
  }

  std::vector<SharedFrame> frames;
  v1::ServerFrame reply;
  reply.set_request_id(args.request_id);
  auto* join_reply = reply.mutable_join_reply();
  join_reply->set_room(room.name);
  join_reply->set_topic(room.topic);
  join_reply->set_last_seq(room.last_seq);
  join_reply->set_member_count(static_cast<std::uint32_t>(room.members.size()));
  frames.push_back(encode_frame(reply));
  auto catch_up = catch_up_frames(room, args);
  frames.insert(frames.end(), catch_up.begin(), catch_up.end());
  with_session(context_, args.who,
               [key = args.key, name = room.name, frames = std::move(frames)](Session& s) mutable {
                 s.on_joined(key, name, std::move(frames));
               });

  if (!already) {
    v1::ServerFrame event;
    event.mutable_member_joined()->set_room(room.name);
    event.mutable_member_joined()->set_nick(args.nick);
    broadcast_presence(args.key, room, encode_frame(event, FramePriority::presence));
  }
}

void HomeRooms::leave(const std::string& key, SessionRef who, const std::string& reason) {
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  auto member = room.members.find(who.id);
  if (member == room.members.end()) return;
  const std::string nick = member->second.nick;
  room.members.erase(member);
  --room.members_per_shard[who.shard];
  if (room.members.empty()) {
    rooms_.erase(it);  // its recent history goes with it until a durable engine keeps it
    return;
  }
  v1::ServerFrame event;
  event.mutable_member_left()->set_room(room.name);
  event.mutable_member_left()->set_nick(nick);
  event.mutable_member_left()->set_reason(reason);
  broadcast_presence(key, room, encode_frame(event, FramePriority::presence));
}

void HomeRooms::publish(PublishArgs args) {
  Room* room = find_member_room(args.key, args.who, args.request_id);
  if (!room) return;
  if (room->recent) {
    if (const auto* original = room->recent->find_sent(name_key(args.nick), args.client_msg_id)) {
      acknowledge_duplicate(*original, args);
      return;
    }
  }
  v1::RoomMessage message;
  message.set_room(room->name);
  message.set_seq(++room->last_seq);
  message.set_from(args.nick);
  message.set_text(std::move(args.text));
  message.set_server_time_ms(unix_time_ms());
  message.set_client_msg_id(args.client_msg_id);
  message.set_action(args.action);
  broadcast(args.key, *room, room_message_frame(message, room->name));

  if (!room->recent) room->recent = std::make_unique<RecentHistory>();
  room->recent->push(message, shard_.config().history_in_memory);

  v1::ServerFrame ack;
  ack.set_request_id(args.request_id);
  ack.mutable_ack()->set_room(room->name);
  ack.mutable_ack()->set_seq(message.seq());
  ack.mutable_ack()->set_client_msg_id(args.client_msg_id);
  context_.room_log->append(message,
                            [context = &context_, who = args.who, frame = encode_frame(ack)] {
                              send_to_session(*context, who, frame);
                            });
}

void HomeRooms::acknowledge_duplicate(const v1::RoomMessage& original, const PublishArgs& args) {
  v1::ServerFrame ack;
  ack.set_request_id(args.request_id);
  ack.mutable_ack()->set_room(original.room());
  ack.mutable_ack()->set_seq(original.seq());
  ack.mutable_ack()->set_client_msg_id(args.client_msg_id);
  ack.mutable_ack()->set_duplicate(true);
  send_to_session(context_, args.who, encode_frame(ack));
}

void HomeRooms::typing(const std::string& key, SessionRef who, const std::string& nick) {
  auto it = rooms_.find(key);
  if (it == rooms_.end() || !it->second.members.contains(who.id)) return;
  v1::ServerFrame event;
  event.mutable_typing()->set_room(it->second.name);
  event.mutable_typing()->set_nick(nick);
  broadcast_presence(key, it->second, encode_frame(event, FramePriority::presence));
}

void HomeRooms::rename(const std::string& key, SessionRef who, const std::string& new_nick) {
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  auto member = it->second.members.find(who.id);
  if (member == it->second.members.end()) return;
  v1::ServerFrame event;
  event.mutable_nick_changed()->set_room(it->second.name);
  event.mutable_nick_changed()->set_old_nick(member->second.nick);
  event.mutable_nick_changed()->set_new_nick(new_nick);
  member->second.nick = new_nick;
  broadcast_presence(key, it->second, encode_frame(event, FramePriority::presence));
}

void HomeRooms::set_topic(const std::string& key, SessionRef who, const std::string& topic,
                          std::uint64_t request_id) {
  Room* room = find_member_room(key, who, request_id);
  if (!room) return;
  room->topic = topic;
  v1::ServerFrame event;
  event.mutable_topic_changed()->set_room(room->name);
  event.mutable_topic_changed()->set_topic(topic);
  event.mutable_topic_changed()->set_by(room->members.at(who.id).nick);
  broadcast(key, *room, encode_frame(event));
  v1::ServerFrame ok;
  ok.set_request_id(request_id);
  ok.mutable_ok();
  send_to_session(context_, who, encode_frame(ok));
}

void HomeRooms::who(const std::string& key, SessionRef asker, std::uint64_t request_id) {
  Room* room = find_member_room(key, asker, request_id);
  if (!room) return;
  std::vector<std::string> nicks;
  nicks.reserve(room->members.size());
  for (const auto& [id, member] : room->members) nicks.push_back(member.nick);
  std::sort(nicks.begin(), nicks.end(),
            [](const std::string& a, const std::string& b) { return name_key(a) < name_key(b); });
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  frame.mutable_member_list()->set_room(room->name);
  for (auto& nick : nicks) frame.mutable_member_list()->add_nicks(std::move(nick));
  send_to_session(context_, asker, encode_frame(frame));
}

void HomeRooms::history(const std::string& key, SessionRef asker, const v1::History& query,
                        std::uint64_t request_id) {
  Room* room = find_member_room(key, asker, request_id);
  if (!room) return;
  const std::uint32_t max = shard_.config().max_history;
  const std::size_t limit = query.limit() == 0 ? max : std::min(query.limit(), max);
  const auto& recent = room->history();
  const std::uint64_t oldest = recent.empty() ? room->last_seq + 1 : recent.front().seq();

  // Select [first, last] of the sequences asked for, then clip to what is kept.
  std::uint64_t first = 1;
  std::uint64_t last = room->last_seq;
  if (query.position_case() == v1::History::kAfterSeq) {
    first = query.after_seq() + 1;
    last = std::min<std::uint64_t>(room->last_seq, query.after_seq() + limit);
    if (query.after_seq() >= room->last_seq) last = 0;  // nothing after it
  } else if (query.position_case() == v1::History::kBeforeSeq) {
    last = std::min(room->last_seq, query.before_seq() == 0 ? 0 : query.before_seq() - 1);
    first = last >= limit ? last - limit + 1 : 1;
  } else {
    first = room->last_seq >= limit ? room->last_seq - limit + 1 : 1;
  }

  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  auto* reply = frame.mutable_history_reply();
  reply->set_room(room->name);
  if (last >= first && first < oldest) {
    reply->mutable_gap()->set_room(room->name);
    reply->mutable_gap()->set_from_seq(first);
    reply->mutable_gap()->set_to_seq(std::min(last, oldest - 1));
  }
  // A reply stays within the frame limit clients were told in Welcome; has_more says the rest.
  const bool ascending = query.position_case() == v1::History::kAfterSeq;
  const bool cut =
      add_within(*reply, recent, first, last, ascending, shard_.config().max_frame_bytes - 1024);
  if (ascending) {
    reply->set_has_more(cut || (last < room->last_seq && last != 0));
  } else {
    reply->set_has_more(cut || first > oldest);
  }
  send_to_session(context_, asker, encode_frame(frame));
}

bool HomeRooms::add_within(v1::HistoryReply& reply, const std::deque<v1::RoomMessage>& recent,
                           std::uint64_t first, std::uint64_t last, bool ascending,
                           std::size_t budget) {
  std::vector<const v1::RoomMessage*> chosen;
  auto take = [&](const v1::RoomMessage& message) {
    if (message.seq() < first || message.seq() > last) return true;
    const std::size_t size = message.ByteSizeLong() + 8;
    if (size > budget && !chosen.empty()) return false;
    budget -= std::min(size, budget);
    chosen.push_back(&message);
    return true;
  };
  bool cut = false;
  if (ascending) {
    for (auto it = recent.begin(); it != recent.end() && !cut; ++it) cut = !take(*it);
  } else {
    for (auto it = recent.rbegin(); it != recent.rend() && !cut; ++it) cut = !take(*it);
    std::reverse(chosen.begin(), chosen.end());
  }
  for (const v1::RoomMessage* message : chosen) *reply.add_messages() = *message;
  return cut;
}

std::vector<v1::RoomInfo> HomeRooms::list(const std::string& prefix_key) const {
  std::vector<v1::RoomInfo> rooms;
  for (const auto& [key, room] : rooms_) {
    if (key.compare(0, prefix_key.size(), prefix_key) != 0) continue;
    v1::RoomInfo info;
    info.set_room(room.name);
    info.set_member_count(static_cast<std::uint32_t>(room.members.size()));
    info.set_topic(room.topic);
    info.set_last_seq(room.last_seq);
    rooms.push_back(std::move(info));
  }
  return rooms;
}

}  // namespace chat::server
