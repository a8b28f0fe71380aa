#include "single_node_sharing.hpp"

#include <cassert>

#include "home_rooms.hpp"
#include "shard.hpp"

namespace chat::server {

// Not reached: a room of one node is always live. Refused rather than dropped if it ever were.
void SingleNodeSharing::hold_join(JoinArgs join, Room&) {
  assert(false && "a room of one node is always live");
  rooms_.fanout().refuse_join(join, v1::Error::INTERNAL, "the room is not ready");
}

bool SingleNodeSharing::keep_when_empty(const std::string&, Room& room) {
  if (room.settled_seq() == 0 && room.topic().empty()) return false;  // unused
  room.keep_newest(rooms_.shard().config().history_on_join);
  return true;
}

void SingleNodeSharing::store_topic(const std::string& key, const Room& room,
                                    const v1::ServerFrame& event,
                                    std::function<void(storage::WriteResult)> done) {
  rooms_.shard().context().room_log->set_topic(key, room.name(), event.topic_changed().topic(),
                                               std::move(done));
}

void SingleNodeSharing::topic_stored(const std::string& key, Room& room,
                                     const v1::ServerFrame& event) {
  room.set_topic(event.topic_changed().topic());
  rooms_.fanout().broadcast(key, room, encode_frame(event));
}

void SingleNodeSharing::on_stored(const std::string& key, Room& room, v1::RoomMessage&& message,
                                  const Requester& sender, const std::vector<Requester>& resent,
                                  std::chrono::steady_clock::time_point received_at) {
  RoomFanout& fanout = rooms_.fanout();
  room.order().settle(message.seq());
  fanout.broadcast(key, room, room_message_frame(message, room.name()));
  fanout.acknowledge(sender, room.name(), message.seq(), message.client_msg_id(), false);
  rooms_.shard().context().stats.ack_latency.observe(std::chrono::steady_clock::now() -
                                                     received_at);
  for (const Requester& waiter : resent) {
    fanout.acknowledge(waiter, room.name(), message.seq(), message.client_msg_id(), true);
  }
  room.remember(std::move(message), rooms_.memory_keep());
}

}  // namespace chat::server
