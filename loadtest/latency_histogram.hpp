#pragma once
// A log-linear latency histogram (HDR-style): values in nanoseconds, 64 sub-buckets per power of
// two, so every recorded value is kept to within 1.6%. Fixed size, no allocation when recording.

#include <array>
#include <cstdint>

namespace chat::loadtest {

class LatencyHistogram {
 public:
  static constexpr int sub_bits = 6;  // 64 sub-buckets per octave
  static constexpr int octaves = 40;  // up to 2^40 ns, about 18 minutes

  void record(std::int64_t nanoseconds);
  void merge(const LatencyHistogram& other);
  void clear() { *this = LatencyHistogram{}; }

  std::uint64_t count() const { return count_; }
  std::int64_t max() const { return max_; }
  std::int64_t min() const { return count_ == 0 ? 0 : min_; }
  // The smallest recorded value (to bucket precision) at or below which `fraction` of values lie.
  std::int64_t quantile(double fraction) const;

 private:
  static int bucket_of(std::uint64_t value);
  static std::uint64_t upper_bound_of(int bucket);

  std::array<std::uint64_t, (octaves + 1) << sub_bits> buckets_{};
  std::uint64_t count_ = 0;
  std::int64_t max_ = 0;
  std::int64_t min_ = INT64_MAX;
};

}  // namespace chat::loadtest
