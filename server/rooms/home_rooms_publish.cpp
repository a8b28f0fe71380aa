// Publishing a room message. It is stored first and fanned out once durable: what members see is
// exactly what history holds, and a sequence is never handed out twice, not even across a crash.
// Group commit keeps the store's cost per message low; callbacks come back in sequence order.
#include <spdlog/spdlog.h>

#include <cassert>

#include "home_rooms.hpp"
#include "names.hpp"
#include "shard.hpp"
#include "wall_clock.hpp"

namespace chat::server {
void HomeRooms::publish(PublishArgs args) {
  assert(shard_.on_own_thread());
  Room* room = find_member_room(args.key, args.who, args.request_id);
  if (!room) return;
  std::string sender_key = name_key(args.nick);
  const Requester sender{args.who, args.request_id};
  if (args.client_msg_id != 0) {
    const auto* original = context_.room_log->delivered_is_acknowledged()
                               ? room->kept_send(sender_key, args.client_msg_id)
                               : nullptr;
    if (original) {
      fanout_.acknowledge(sender, room->name(), original->seq(), args.client_msg_id, true);
      return;
    }
    if (!room->start_send(sender_key, args.client_msg_id, sender)) return;  // with the first copy
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

}  // namespace chat::server
