#include "room_tracker.hpp"

namespace chat::client {

RoomTracker::Verdict RoomTracker::on_message(std::uint64_t seq) {
  Verdict verdict;
  if (last_seen_ && seq <= *last_seen_) {
    verdict.deliver = false;
    return verdict;
  }
  // Join history (seq <= joined_at_) starts wherever the server chose; after it, nothing may be
  // skipped.
  const bool join_history = !last_seen_ && seq <= joined_at_;
  if (!join_history && seq > last_seen() + 1) verdict.missed = SeqRange{last_seen() + 1, seq - 1};
  last_seen_ = seq;
  return verdict;
}

void RoomTracker::on_gap(std::uint64_t to_seq) {
  if (to_seq > last_seen()) last_seen_ = to_seq;
}

}  // namespace chat::client
