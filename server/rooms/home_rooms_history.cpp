// History requests: served from the room's messages in memory when they cover the range, from the
// store otherwise. A reply stays within the frame limit clients were told in Welcome (has_more
// says there is more), and a range reaching below what was kept gets an explicit Gap.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>

#include "history_page.hpp"
#include "home_rooms.hpp"
#include "shard.hpp"

namespace chat::server {
namespace {

void set_gap(v1::HistoryReply& reply, std::uint64_t from, std::uint64_t to) {
  reply.mutable_gap()->set_room(reply.room());
  reply.mutable_gap()->set_from_seq(from);
  reply.mutable_gap()->set_to_seq(to);
}

}  // namespace

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
        v1::ServerFrame frame;
        frame.set_request_id(request_id);
        if (!result.ok) {
          spdlog::error("store: history of {} could not be read: {}", room, result.error);
          frame.mutable_error()->set_code(v1::Error::UNAVAILABLE);
          frame.mutable_error()->set_message("history is unavailable");
          send_to_session(*context, asker, encode_frame(frame));
          return;
        }
        auto* reply = frame.mutable_history_reply();
        reply->set_room(room);
        if (result.gap) set_gap(*reply, result.gap->first, result.gap->second);
        const bool cut = add_within(*reply, result.messages, 0, UINT64_MAX, ascending, budget);
        reply->set_has_more(cut || result.has_more);
        send_to_session(*context, asker, encode_frame(frame));
      });
}

}  // namespace chat::server
