#pragma once
// Server-wide counters. Relaxed atomics: written by shard threads, read by tests and metrics.

#include <array>
#include <atomic>
#include <cstdint>

#include "chat.pb.h"
#include "metrics/latency_histogram.hpp"

namespace chat::server {

struct ServerStats {
  using Counter = std::atomic<std::uint64_t>;

  Counter connections_accepted{0};
  Counter connections_rejected{0};
  Counter accept_errors{0};
  Counter tls_handshake_failures{0};
  Counter sessions_current{0};
  Counter messages_in{0};  // Sends handed to their room (valid, joined, within the rate limit)
  Counter deliveries{0};   // frames queued to members' outboxes by room fan-out
  Counter presence_dropped{0};
  Counter backlog_collapses{0};
  Counter messages_gapped{0};
  Counter rate_limited{0};
  Counter memory_releases{0};  // free heap given back to the system (MemoryReleaser)
  std::array<Counter, v1::Disconnect::Reason_ARRAYSIZE> disconnects{};
  std::array<Counter, 3> rejections{};                      // refused at accept, by RefusalCause
  std::array<Counter, v1::Error::Code_ARRAYSIZE> errors{};  // Error frames sent, by code
  // From a Send's arrival to its Ack (stored, then fanned out), and one group commit of the store.
  LatencyHistogram ack_latency{LatencyHistogram::default_latency_buckets()};
  LatencyHistogram commit_latency{LatencyHistogram::default_latency_buckets()};

  static void add(Counter& counter, std::uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  static std::uint64_t get(const Counter& counter) {
    return counter.load(std::memory_order_relaxed);
  }
  std::uint64_t disconnects_for(v1::Disconnect::Reason reason) const {
    return get(disconnects[reason]);
  }
};

// Per shard, so hot-path counters never share a cache line between threads.
struct alignas(64) ShardStats {
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
};

struct ShardSnapshot {
  std::uint64_t sessions = 0;
  std::uint64_t tls_sessions = 0;
  std::uint64_t websocket_sessions = 0;       // binary subprotocol chat.v1
  std::uint64_t websocket_json_sessions = 0;  // chat.v1.json (browsers)
  std::uint64_t rooms = 0;                    // rooms whose home is this shard
  std::uint64_t members = 0;                  // their members
  std::uint64_t outbox_bytes = 0;
};

}  // namespace chat::server
