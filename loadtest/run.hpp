#pragma once
// Runs a scenario: connect every client, send for the duration, drain, count.

#include <iosfwd>
#include <vector>

#include "options.hpp"
#include "proc_stats.hpp"
#include "worker.hpp"

namespace chat::loadtest {

struct TimelinePoint {
  double seconds = 0;
  double deliveries_per_second = 0;
  double sends_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

struct RunResult {
  Options options;
  std::uint64_t clients_connected = 0;
  double connect_all_seconds = 0;
  double run_seconds = 0;  // senders' time
  double drain_seconds = 0;
  std::uint64_t sent = 0;
  std::uint64_t acked = 0;
  std::uint64_t expected = 0;  // deliveries owed by the acknowledged messages
  std::uint64_t reconnects = 0;
  WorkerTotals totals;
  std::vector<TimelinePoint> timeline;
  double harness_cpu_seconds = 0;
  std::optional<ProcessSample> server_before;
  std::optional<ProcessSample> server_connected;
  std::optional<ProcessSample> server_after;

  bool clean() const;  // nothing lost, duplicated, refused or dropped
};

RunResult run_load(const Options& options, std::ostream& progress);

}  // namespace chat::loadtest
