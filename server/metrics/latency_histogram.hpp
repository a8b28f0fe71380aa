#pragma once
// A latency histogram with fixed buckets, for Prometheus. observe() is a few relaxed atomic adds,
// so any thread may call it on a hot path; snapshot() reads the counts without stopping writers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace chat::server {

class LatencyHistogram {
 public:
  struct Snapshot {
    std::vector<double> bounds;             // finite bucket upper bounds, seconds, ascending
    std::vector<std::uint64_t> cumulative;  // cumulative[i]: observations <= bounds[i]
    std::uint64_t count = 0;                // all observations (the "+Inf" bucket)
    double sum = 0;                         // seconds
  };

  // 100 us to 10 s, roughly 1-2.5-5 per decade.
  static std::vector<double> default_latency_buckets();

  // bounds: finite upper bounds in seconds, strictly ascending (throws std::invalid_argument
  // otherwise). Observations above the last bound count only in "+Inf".
  explicit LatencyHistogram(std::vector<double> bounds = default_latency_buckets());

  // Negative durations count as zero.
  void observe(std::chrono::nanoseconds latency);
  // Taken while others observe, the snapshot may miss some of their observations in the sum, but
  // its buckets and count always agree with each other.
  Snapshot snapshot() const;

  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  // Not cumulative: buckets_[i] counts observations in (bounds_[i-1], bounds_[i]]; the last one,
  // those above every bound.
  std::vector<std::atomic<std::uint64_t>> buckets_;
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace chat::server
