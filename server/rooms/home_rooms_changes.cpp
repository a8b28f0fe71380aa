// Edits, deletions and read markers: the store decides (only a message's sender may change it),
// then the home shard updates its memory and tells the room.
#include <spdlog/spdlog.h>

#include <cassert>

#include "home_rooms.hpp"
#include "names.hpp"
#include "shard.hpp"
#include "wall_clock.hpp"

namespace chat::server {
namespace {

SharedFrame ok_frame(std::uint64_t request_id) {
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  frame.mutable_ok();
  return encode_frame(frame);
}

}  // namespace

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
  v1::RoomMessage* kept = room.kept(args.seq);
  v1::ServerFrame event;
  if (args.remove) {
    if (kept) {
      kept->clear_text();
      kept->set_deleted(true);
    }
    event.mutable_message_deleted()->set_room(room.name());
    event.mutable_message_deleted()->set_seq(args.seq);
    event.mutable_message_deleted()->set_by(args.nick);
  } else {
    if (kept) {
      kept->set_text(args.text);
      kept->set_edited(true);
    }
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
        if (written.ok) return send_to_session(*context, who, ok_frame(request_id));
        v1::ServerFrame frame;
        frame.set_request_id(request_id);
        frame.mutable_error()->set_code(v1::Error::UNAVAILABLE);
        frame.mutable_error()->set_message("the read marker could not be stored");
        send_to_session(*context, who, encode_frame(frame));
      });
}

}  // namespace chat::server
