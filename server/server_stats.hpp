#pragma once
// Server-wide counters. Relaxed atomics: written by shard threads, read by tests and metrics.

#include <array>
#include <atomic>
#include <cstdint>

#include "chat.pb.h"

namespace chat::server {

struct ServerStats {
  using Counter = std::atomic<std::uint64_t>;

  Counter connections_accepted{0};
  Counter connections_rejected{0};
  Counter accept_errors{0};
  Counter sessions_current{0};
  Counter messages_in{0};
  Counter deliveries{0};  // frames queued to members' outboxes by room fan-out
  Counter presence_dropped{0};
  Counter backlog_collapses{0};
  Counter messages_gapped{0};
  Counter rate_limited{0};
  std::array<Counter, v1::Disconnect::Reason_ARRAYSIZE> disconnects{};

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

}  // namespace chat::server
