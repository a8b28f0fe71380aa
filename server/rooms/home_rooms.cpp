#include "home_rooms.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>

#include "cluster_rooms.hpp"
#include "history_page.hpp"
#include "names.hpp"
#include "shard.hpp"
#include "single_node_sharing.hpp"
#include "wall_clock.hpp"

namespace chat::server {
namespace {

void set_gap(v1::HistoryReply& reply, std::uint64_t from, std::uint64_t to) {
  reply.mutable_gap()->set_room(reply.room());
  reply.mutable_gap()->set_from_seq(from);
  reply.mutable_gap()->set_to_seq(to);
}

}  // namespace

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
  assert(!sharing_->clustered());  // a cluster's rooms are loaded at their first join
  Room& room =
      rooms_.try_emplace(record.key, record.name, context_.shards.size(), /*clustered=*/false)
          .first->second;
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
  const Presence joined{.change = Presence::Change::joined,
                        .node = {},
                        .field = {},
                        .nick = args.nick,
                        .detail = {},
                        .account = args.account,
                        .real_name = args.real_name,
                        .quit = false};
  if (!already) {
    room.add_member(args.who, args.nick);
    sharing_->announce(args.key, room, args.who.id, joined, false);
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

  if (!already) fanout_.broadcast_presence(args.key, room, presence_frame(room.name(), joined));
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
  const Presence left{.change = Presence::Change::left,
                      .node = {},
                      .field = {},
                      .nick = *nick,
                      .detail = reason,
                      .account = false,
                      .real_name = {},
                      .quit = quit};
  sharing_->announce(key, room, who.id, left, room.members().empty());
  if (room.members().empty()) {
    if (!sharing_->keep_when_empty(key, room)) rooms_.erase(it);
    return;
  }
  fanout_.broadcast_presence(key, room, presence_frame(room.name(), left));
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
  const Presence renamed{.change = Presence::Change::renamed,
                         .node = {},
                         .field = {},
                         .nick = new_nick,
                         .detail = member->nick,
                         .account = false,
                         .real_name = {},
                         .quit = false};
  sharing_->announce(key, it->second, who.id, renamed, false);
  member->nick = new_nick;
  fanout_.broadcast_presence(key, it->second, presence_frame(it->second.name(), renamed));
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

// Publishing a room message. It is stored first and fanned out once durable: what members see is
// exactly what history holds, and a sequence is never handed out twice, not even across a crash.
// Group commit keeps the store's cost per message low; callbacks come back in sequence order.

void HomeRooms::publish(PublishArgs args) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(args.key, args.who, args.request_id);
  if (!room) return;
  std::string sender_key = name_key(args.nick);
  const Requester sender{args.who, args.request_id};
  if (args.client_msg_id != 0) {
    // A copy on its way is answered first, even when (in a cluster) the channel already showed
    // it: this one waits for that answer.
    if (!room->start_send(sender_key, args.client_msg_id, sender)) return;
    const auto* original = context_.room_log->delivered_is_acknowledged()
                               ? room->kept_send(sender_key, args.client_msg_id)
                               : nullptr;
    if (original) {
      room->finish_send(sender_key, args.client_msg_id);
      fanout_.acknowledge(sender, room->name(), original->seq(), args.client_msg_id, true);
      return;
    }
  }
  v1::RoomMessage message;
  message.set_room(room->name());
  // The engine gives the message its sequence as it stores it (so a duplicate or a failed write
  // uses none): the next in the room, and above the highest seen here (Redis may have lost count).
  message.set_seq(room->settled_seq() + 1);
  message.set_from(args.nick);
  message.set_text(std::move(args.text));
  message.set_server_time_ms(unix_time_ms());
  message.set_client_msg_id(args.client_msg_id);
  message.set_action(args.action);
  message.set_account(args.account);
  message.set_notice(args.notice);
  context_.room_log->append(
      message, args.key, sender_key,
      answer_at_home<storage::AppendResult>(
          context_, args.key,
          [key = args.key, message, sender, sender_key, received_at = args.received_at](
              HomeRooms& rooms, storage::AppendResult stored) mutable {
            rooms.on_stored(key, std::move(message), sender, received_at, sender_key, stored);
          }));
}

void HomeRooms::on_stored(const std::string& key, v1::RoomMessage message, const Requester& sender,
                          std::chrono::steady_clock::time_point received_at,
                          const std::string& sender_key, const storage::AppendResult& stored) {
  assert(shard_.on_own_thread());
  auto it = rooms_.find(key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  std::vector<Requester> resent;
  if (message.client_msg_id() != 0) resent = room.finish_send(sender_key, message.client_msg_id());
  if (!stored.ok) {
    spdlog::error("store: message {} of {} was not stored: {}", message.seq(), room.name(),
                  stored.error);
    const auto code = sharing_->refusal_when_not_stored();  // a cluster's store can come back
    for (const Requester& waiter : resent) {
      fanout_.reply_error(waiter.who, waiter.request_id, code, "the message could not be stored");
    }
    fanout_.reply_error(sender.who, sender.request_id, code, "the message could not be stored");
    return;
  }
  if (stored.duplicate) {  // stored before this server's memory began (a restart)
    for (const Requester& waiter : resent) {
      fanout_.acknowledge(waiter, room.name(), stored.seq, message.client_msg_id(), true);
    }
    fanout_.acknowledge(sender, room.name(), stored.seq, message.client_msg_id(), true);
    return;
  }
  message.set_seq(stored.seq);
  sharing_->on_stored(key, room, std::move(message), sender, resent, received_at);
}

// Edits, deletions and read markers: the store decides (only a message's sender may change it),
// then the home shard updates its memory and tells the room.

void HomeRooms::change(ChangeArgs args) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(args.key, args.who, args.request_id);
  if (!room) return;
  auto done = answer_at_home<storage::EditResult>(
      context_, args.key,
      [args](HomeRooms& rooms, storage::EditResult result) { rooms.on_changed(args, result); });
  const std::string sender_key = name_key(args.nick);
  if (args.remove) {
    context_.room_log->remove(args.key, args.seq, sender_key, std::move(done));
  } else {
    context_.room_log->edit(args.key, args.seq, sender_key, args.text, unix_time_ms(),
                            std::move(done));
  }
}

void HomeRooms::on_changed(const ChangeArgs& args, const storage::EditResult& result) {
  auto it = rooms_.find(args.key);
  if (it == rooms_.end()) return;
  Room& room = it->second;
  using Status = storage::EditResult::Status;
  const std::string what = "message " + std::to_string(args.seq) + " in " + room.name();
  if (result.status == Status::not_found) {
    return fanout_.reply_error(args.who, args.request_id, v1::Error::NOT_FOUND,
                               "there is no " + what);
  }
  if (result.status == Status::forbidden) {
    return fanout_.reply_error(args.who, args.request_id, v1::Error::FORBIDDEN,
                               "only its sender may change " + what);
  }
  if (result.status != Status::ok) {
    spdlog::error("store: {} could not be changed: {}", what, result.error);
    return fanout_.reply_error(args.who, args.request_id, v1::Error::UNAVAILABLE,
                               what + " could not be changed");
  }
  v1::ServerFrame event;
  if (args.remove) {
    room.delete_kept(args.seq);
    event.mutable_message_deleted()->set_room(room.name());
    event.mutable_message_deleted()->set_seq(args.seq);
    event.mutable_message_deleted()->set_by(args.nick);
  } else {
    room.edit_kept(args.seq, args.text);
    event.mutable_message_edited()->set_room(room.name());
    event.mutable_message_edited()->set_seq(args.seq);
    event.mutable_message_edited()->set_text(args.text);
    event.mutable_message_edited()->set_by(args.nick);
  }
  fanout_.reply_ok(args.who, args.request_id);
  fanout_.broadcast(args.key, room, encode_frame(event));
  sharing_->relay(args.key, event);
}

void HomeRooms::mark_read(const std::string& key, SessionRef who, std::string account_key,
                          std::uint64_t seq, std::uint64_t request_id) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(key, who, request_id);
  if (!room) return;
  context_.room_log->mark_read(
      std::move(account_key), key, std::min(seq, room->settled_seq()),
      [context = &context_, who, request_id](storage::WriteResult written) {
        send_to_session(*context, who,
                        written.ok
                            ? RoomFanout::ok_frame(request_id)
                            : RoomFanout::error_frame(request_id, v1::Error::UNAVAILABLE,
                                                      "the read marker could not be stored"));
      });
}

// History requests: served from the room's messages in memory when they cover the range, from the
// store otherwise. A reply stays within the frame limit clients were told in Welcome (has_more
// says there is more), and a range reaching below what was kept gets an explicit Gap.

void HomeRooms::history(const std::string& key, SessionRef asker, const v1::History& query,
                        std::uint64_t request_id) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(key, asker, request_id);
  if (!room) return;
  expire(*room);
  const std::uint32_t max = shard_.config().max_history;
  const std::uint32_t limit = query.limit() == 0 ? max : std::min(query.limit(), max);
  auto reply = room->history_from_memory(query, limit, shard_.config().max_frame_bytes - 1024);
  if (!reply) return history_from_store(key, *room, asker, query, limit, request_id);
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  *frame.mutable_history_reply() = std::move(*reply);
  fanout_.reply(asker, encode_frame(frame));
}

void HomeRooms::history_from_store(const std::string& key, const Room& room, SessionRef asker,
                                   const v1::History& query, std::uint32_t limit,
                                   std::uint64_t request_id) {
  storage::HistoryQuery stored_query;
  stored_query.limit = limit;
  if (query.position_case() == v1::History::kAfterSeq) {
    stored_query.kind = storage::HistoryQuery::Kind::after;
    stored_query.seq = query.after_seq();
  } else if (query.position_case() == v1::History::kBeforeSeq) {
    stored_query.kind = storage::HistoryQuery::Kind::before;
    stored_query.seq = query.before_seq();
  }
  const bool ascending = stored_query.kind == storage::HistoryQuery::Kind::after;
  context_.room_log->history(
      key, stored_query,
      [context = &context_, asker, request_id, room = room.name(), ascending,
       budget = shard_.config().max_frame_bytes - 1024](storage::HistoryResult result) {
        if (!result.ok) {
          spdlog::error("store: history of {} could not be read: {}", room, result.error);
          send_to_session(*context, asker,
                          RoomFanout::error_frame(request_id, v1::Error::UNAVAILABLE,
                                                  "history is unavailable"));
          return;
        }
        v1::ServerFrame frame;
        frame.set_request_id(request_id);
        auto* reply = frame.mutable_history_reply();
        reply->set_room(room);
        if (result.gap) set_gap(*reply, result.gap->first, result.gap->second);
        const bool cut = add_within(*reply, result.messages, 0, UINT64_MAX, ascending, budget);
        reply->set_has_more(cut || result.has_more);
        send_to_session(*context, asker, encode_frame(frame));
      });
}

}  // namespace chat::server
