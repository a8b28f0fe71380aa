#pragma once
// One room's messages in sequence order, as a cluster node receives them: live from the room's
// channel, and read from the room's log when the channel missed some (the bus was away). Pure
// logic: the caller reads the log when told to and hands the answer back.
//
// A message past a hole is held until the hole is read. Reads may overlap (a rejoin and a
// re-subscribe each ask one): every answer's messages are applied, but only the last read asked
// decides whether a hole is gone for good (trimmed by retention): a read asked after the message
// past the hole arrived that still lacks the hole proves it gone; one asked before proves nothing.

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "chat.pb.h"

namespace chat::server {

class MessageOrder {
 public:
  // Where messages go once in order.
  class Output {
   public:
    virtual ~Output() = default;
    virtual void deliver(v1::RoomMessage message) = 0;
    // Sequences first..last are gone: the log no longer has them.
    virtual void skipped(std::uint64_t first, std::uint64_t last) = 0;
    // At or below settled(): loaded already, or a second copy.
    virtual void stale(const v1::RoomMessage& message) = 0;
  };

  struct Read {
    std::uint64_t number = 0;  // to hand back with the answer
    std::uint64_t after = 0;   // read the log after this sequence
  };
  struct Answer {
    bool ok = false;
    std::vector<v1::RoomMessage> messages;  // ascending
    bool has_more = false;                  // the page ended before the log did
  };
  enum class Next {
    nothing,
    read_now,    // start_read() again
    read_later,  // after a pause growing with failed_reads(): the log was busy
  };

  // The newest sequence delivered (or skipped).
  std::uint64_t settled() const { return settled_; }
  bool reading() const { return reading_; }
  int failed_reads() const { return failed_reads_; }
  std::size_t held() const { return ahead_.size(); }

  // The room as loaded: nothing is held.
  void reset(std::uint64_t settled);
  // Embedded engine: this node stored a message itself (commits come back in order).
  void settle(std::uint64_t seq) { settled_ = std::max(settled_, seq); }
  // A message from the channel. True when a read should start now: a hole opened and no read is
  // out.
  bool arrive(v1::RoomMessage message, Output& out);
  // A read of the log after settled() starts.
  Read start_read();
  // The answer to a read. log_reachable: false when the log is away altogether (its return will
  // ask a read); a failed read while it is reachable is asked again twice before the hole is
  // given up.
  Next on_answer(std::uint64_t read, Answer answer, bool log_reachable, Output& out);

 private:
  struct Held {
    v1::RoomMessage message;
    std::uint64_t reads_before = 0;  // reads asked when it arrived
  };
  // False when the message had to be held.
  bool apply(v1::RoomMessage message, std::uint64_t reads_before, Output& out);
  void deliver(v1::RoomMessage message, Output& out);
  void skip_hole(Output& out);

  std::uint64_t settled_ = 0;
  std::map<std::uint64_t, Held> ahead_;
  bool reading_ = false;
  std::uint64_t reads_asked_ = 0;  // only the last one's answer decides
  int failed_reads_ = 0;           // in a row, while the log was reachable
};

}  // namespace chat::server
