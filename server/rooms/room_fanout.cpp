#include "room_fanout.hpp"

#include <cassert>

#include "shard.hpp"

namespace chat::server {

void RoomFanout::broadcast(const std::string& key, const Room& room, const SharedFrame& frame) {
  assert(shard_.on_own_thread());
  const auto& per_shard = room.members_per_shard();
  for (std::uint32_t i = 0; i < per_shard.size(); ++i) {
    if (per_shard[i] == 0) continue;
    Shard& target = *context_.shards[i];
    target.post([&target, key, frame] {
      const std::size_t n = target.local_rooms().deliver(key, frame);
      ServerStats::add(target.context().stats.deliveries, n);
    });
  }
}

void RoomFanout::broadcast_presence(const std::string& key, const Room& room,
                                    const SharedFrame& frame) {
  const std::uint32_t cap = shard_.config().max_presence_members;
  if (cap == 0 || room.member_total() <= cap) broadcast(key, room, frame);
}

void RoomFanout::reply(SessionRef to, SharedFrame frame) {
  send_to_session(context_, to, std::move(frame));
}

SharedFrame RoomFanout::ok_frame(std::uint64_t request_id) {
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  frame.mutable_ok();
  return encode_frame(frame);
}

SharedFrame RoomFanout::error_frame(std::uint64_t request_id, v1::Error::Code code,
                                    std::string message) {
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  frame.mutable_error()->set_code(code);
  frame.mutable_error()->set_message(std::move(message));
  return encode_frame(frame);
}

void RoomFanout::reply_ok(SessionRef to, std::uint64_t request_id) {
  reply(to, ok_frame(request_id));
}

void RoomFanout::reply_error(SessionRef to, std::uint64_t request_id, v1::Error::Code code,
                             std::string message) {
  ServerStats::add(context_.stats.errors[code]);
  reply(to, error_frame(request_id, code, std::move(message)));
}

void RoomFanout::acknowledge(const Requester& to, const std::string& room, std::uint64_t seq,
                             std::uint64_t client_msg_id, bool duplicate) {
  v1::ServerFrame frame;
  frame.set_request_id(to.request_id);
  auto* ack = frame.mutable_ack();
  ack->set_room(room);
  ack->set_seq(seq);
  ack->set_client_msg_id(client_msg_id);
  ack->set_duplicate(duplicate);
  reply(to.who, encode_frame(frame));
}

void RoomFanout::refuse_join(const JoinArgs& join, v1::Error::Code code, const char* why) {
  with_client(context_, join.who,
              [key = join.key, error = error_frame(join.request_id, code, why)](ClientSession& s) {
                s.on_join_failed(key, error);
              });
}

}  // namespace chat::server
