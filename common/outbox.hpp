#pragma once
// A client's queue of frames waiting to be written, bounded in bytes, with an explicit policy for
// a client that falls behind (see push()). Free of I/O: the session takes a batch, copies it into
// one contiguous buffer for a single send, then completes it.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "framing.hpp"

namespace chat {

struct OutboxLimits {
  std::size_t soft_bytes = 512 * 1024;       // above: presence and typing events are shed
  std::size_t hard_bytes = 4 * 1024 * 1024;  // above: room messages become a Gap, or disconnect
  std::size_t batch_max_frames = 512;        // one send takes at most this many frames
  std::size_t batch_max_bytes = 256 * 1024;  // ... and at most about this many bytes
};

// What happened to each shed frame, for metrics and logs.
struct OutboxCounters {
  std::uint64_t presence_dropped = 0;  // presence/typing frames shed above the soft limit
  std::uint64_t collapses = 0;         // times a room-message backlog was replaced by Gap frames
  std::uint64_t messages_gapped = 0;   // room messages replaced by those Gap frames
};

enum class PushResult {
  queued,    // the frame is queued
  dropped,   // the frame was shed (presence above the soft limit)
  overflow,  // the client is too far behind: disconnect it with SLOW_CONSUMER
};

class Outbox {
 public:
  explicit Outbox(OutboxLimits limits = {}) : limits_(limits) {}

  // Queues a frame, never blocking and never waiting for the client. Above the soft limit presence
  // frames are shed. When a frame would take the queue above the hard limit, the queued room
  // messages are replaced by one Gap per room (the client fetches them from history), unless that
  // already happened and the client has not taken a batch since: then the client stays behind,
  // and the answer is overflow. Control frames are always queued (up to twice the hard limit).
  PushResult push(SharedFrame frame);

  // Queues a frame ignoring the limits (the final Disconnect).
  void push_unbounded(SharedFrame frame);

  // Drops every queued frame that is not in flight (before a final Disconnect to a slow client).
  void discard_pending();

  // Marks the next batch as in flight and returns how many frames it holds (0 when empty). The
  // batch is the queue's front, capped by count and bytes; frames stay queued until completed.
  std::size_t begin_batch();
  // The i-th frame of the queue (of the current batch while i < its size).
  const EncodedFrame& frame(std::size_t i) const { return *queue_[head_ + i]; }
  // Removes the in-flight batch after its write completed.
  void complete_batch();

  bool empty() const { return head_ == queue_.size(); }
  std::size_t size() const { return queue_.size() - head_; }
  std::size_t bytes() const { return bytes_; }
  std::size_t in_flight() const { return in_flight_; }
  const OutboxCounters& counters() const { return counters_; }
  const OutboxLimits& limits() const { return limits_; }
  void set_limits(OutboxLimits limits) { limits_ = limits; }

 private:
  void enqueue(SharedFrame frame);
  // Replaces every queued (not in-flight) room message by Gap frames; drops presence frames.
  void collapse_backlog();

  OutboxLimits limits_;
  // A vector with a moving head rather than a deque: an empty outbox allocates nothing, which
  // matters with tens of thousands of idle clients.
  std::vector<SharedFrame> queue_;
  std::size_t head_ = 0;
  std::size_t bytes_ = 0;
  std::size_t in_flight_ = 0;
  bool collapsed_without_progress_ = false;
  OutboxCounters counters_;
};

}  // namespace chat
