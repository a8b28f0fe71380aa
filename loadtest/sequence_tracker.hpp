#pragma once
// What one client received of one room, checked against the room's sequence: every sequence after
// the one it joined at must arrive once. Gaps are losses, repeats are duplicates; out-of-order
// arrivals are counted too. Tolerates a Gap the server announces (that is the policy for a slow
// client, counted apart).

#include <cstdint>

namespace chat::loadtest {

class SequenceTracker {
 public:
  // The room stood at `last_seq` when the client joined (or resumed): expect last_seq + 1 next.
  void start_after(std::uint64_t last_seq) {
    start_ = last_seq;
    highest_ = last_seq;
  }
  void on_message(std::uint64_t seq) {
    if (seq == highest_ + 1) {
      ++received_;
      highest_ = seq;
    } else if (seq > highest_ + 1) {
      skipped_ += seq - highest_ - 1;  // may still arrive late: then it is out of order
      ++received_;
      highest_ = seq;
    } else if (seq > start_ && late_ < skipped_) {
      ++late_;
      ++received_;
    } else {
      ++duplicates_;
    }
  }
  // Sequences the server said it skipped for this client (a Gap frame).
  void on_gap(std::uint64_t from_seq, std::uint64_t to_seq) {
    if (to_seq >= from_seq) announced_gaps_ += to_seq - from_seq + 1;
  }

  // Messages that should have arrived up to `final_seq` but did not (announced gaps excluded).
  std::uint64_t lost(std::uint64_t final_seq) const {
    if (final_seq <= start_) return 0;
    const std::uint64_t expected = final_seq - start_;
    const std::uint64_t accounted = received_ + announced_gaps_;
    return expected > accounted ? expected - accounted : 0;
  }
  std::uint64_t received() const { return received_; }
  std::uint64_t duplicates() const { return duplicates_; }
  std::uint64_t out_of_order() const { return late_; }
  std::uint64_t highest() const { return highest_; }
  std::uint64_t announced_gaps() const { return announced_gaps_; }

 private:
  std::uint64_t start_ = 0;
  std::uint64_t highest_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t skipped_ = 0;
  std::uint64_t late_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t announced_gaps_ = 0;
};

}  // namespace chat::loadtest
