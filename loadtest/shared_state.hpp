#pragma once
// What the load test's threads share: the run's phase and the counters the controller watches
// (relaxed atomics, updated once per read or send batch, never per delivery).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "options.hpp"
#include "plan.hpp"

namespace chat::loadtest {

enum class Phase : int { connecting = 0, running = 1, draining = 2, stopping = 3 };

struct SharedState {
  SharedState(const Options& o, const Plan& p)
      : options(o),
        plan(p),
        max_acked(p.room_names.size()),
        max_seen(p.room_names.size()),
        members(p.room_names.size()),
        start_sum(p.room_names.size()) {}

  const Options& options;
  const Plan& plan;
  std::atomic<Phase> phase{Phase::connecting};
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> run_until_ns{0};  // steady clock; senders stop here

  std::atomic<std::uint64_t> ready{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> accounted{0};  // unique deliveries + sequences announced as Gap
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::vector<std::atomic<std::uint64_t>> max_acked;  // per room: the highest sequence acknowledged
  std::vector<std::atomic<std::uint64_t>> max_seen;   // per room: the highest sequence delivered
  std::vector<std::atomic<std::uint64_t>> members;    // per room: members that joined
  std::vector<std::atomic<std::uint64_t>>
      start_sum;  // per room: sum of the sequences they joined at

  Phase current() const { return phase.load(std::memory_order_acquire); }
  static void raise_to(std::atomic<std::uint64_t>& value, std::uint64_t candidate) {
    std::uint64_t seen = value.load(std::memory_order_relaxed);
    while (candidate > seen &&
           !value.compare_exchange_weak(seen, candidate, std::memory_order_relaxed)) {
    }
  }
  // A room's last sequence: a message can be sequenced while its ack is lost with a connection.
  std::uint64_t final_seq(std::size_t room) const {
    return std::max(max_acked[room].load(std::memory_order_relaxed),
                    max_seen[room].load(std::memory_order_relaxed));
  }
  // Deliveries owed once every sequenced message has reached every member that joined before it.
  std::uint64_t expected_deliveries() const {
    std::uint64_t total = 0;
    for (std::size_t r = 0; r < max_acked.size(); ++r) {
      const std::uint64_t m = members[r].load(std::memory_order_relaxed);
      const std::uint64_t owed = m * final_seq(r);
      const std::uint64_t start = start_sum[r].load(std::memory_order_relaxed);
      total += owed > start ? owed - start : 0;
    }
    return total;
  }
};

inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace chat::loadtest
