#pragma once
// Sequence bookkeeping for one joined room: what the client has seen, so that a reconnect resumes
// from there, replayed duplicates are dropped and holes are noticed. Pure logic.

#include <cstdint>
#include <optional>

namespace chat::client {

struct SeqRange {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  bool operator==(const SeqRange&) const = default;
};

class RoomTracker {
 public:
  // last_seq: the room's sequence when it was joined (JoinReply.last_seq); history sent with the
  // join has sequences up to it.
  explicit RoomTracker(std::uint64_t last_seq_at_join) : joined_at_(last_seq_at_join) {}

  struct Verdict {
    bool deliver = true;             // false: seen already
    std::optional<SeqRange> missed;  // a hole right before this message
  };
  Verdict on_message(std::uint64_t seq);
  // The server said the range is lost (or skipped): do not report it again.
  void on_gap(std::uint64_t to_seq);

  // The sequence to resume after (Hello.resume).
  std::uint64_t last_seen() const { return last_seen_.value_or(joined_at_); }
  // How many messages a room at last_seq holds that this client has not seen.
  std::uint64_t missed_before(std::uint64_t last_seq) const {
    return last_seq > last_seen() ? last_seq - last_seen() : 0;
  }

 private:
  std::uint64_t joined_at_;
  std::optional<std::uint64_t> last_seen_;
};

}  // namespace chat::client
