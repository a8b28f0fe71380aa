#pragma once
// What the rooms of a home shard send: a frame to every shard with members of a room (each queues
// it to its own members), an answer to one session. The rooms decide what; this only posts.

#include <cstdint>
#include <string>

#include "chat.pb.h"
#include "framing.hpp"
#include "room.hpp"
#include "room_requests.hpp"
#include "session_ref.hpp"

namespace chat::server {

class Shard;
struct ServerContext;

class RoomFanout {
 public:
  RoomFanout(Shard& shard, ServerContext& context) : shard_(shard), context_(context) {}

  // Posts frame once to every shard with members of room.
  void broadcast(const std::string& key, const Room& room, const SharedFrame& frame);
  // Presence (join, leave, nick, typing) is not broadcast in rooms above max_presence_members:
  // a mass join into a room of N would cost N^2 events.
  void broadcast_presence(const std::string& key, const Room& room, const SharedFrame& frame);
  void reply(SessionRef to, SharedFrame frame);
  void reply_ok(SessionRef to, std::uint64_t request_id);
  void reply_error(SessionRef to, std::uint64_t request_id, v1::Error::Code code,
                   std::string message);
  void acknowledge(const Requester& to, const std::string& room, std::uint64_t seq,
                   std::uint64_t client_msg_id, bool duplicate);
  void refuse_join(const JoinArgs& join, v1::Error::Code code, const char* why);

  // An Ok, and an Error, answering request_id: also for an engine's callback on another thread,
  // which sends them with send_to_session.
  static SharedFrame ok_frame(std::uint64_t request_id);
  static SharedFrame error_frame(std::uint64_t request_id, v1::Error::Code code,
                                 std::string message);

 private:
  Shard& shard_;
  ServerContext& context_;
};

}  // namespace chat::server
