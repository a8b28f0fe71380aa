#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace chat::loadtest {

int LatencyHistogram::bucket_of(std::uint64_t value) {
  constexpr std::uint64_t sub = 1ULL << sub_bits;
  if (value < sub) return static_cast<int>(value);
  const int octave = static_cast<int>(std::bit_width(value)) - sub_bits;  // >= 1
  const auto offset = static_cast<int>((value >> (octave - 1)) - sub);
  const int bucket = (octave << sub_bits) + offset;
  return std::min(bucket, static_cast<int>(((octaves + 1) << sub_bits) - 1));
}

std::uint64_t LatencyHistogram::upper_bound_of(int bucket) {
  constexpr int sub = 1 << sub_bits;
  if (bucket < sub) return static_cast<std::uint64_t>(bucket);
  const int octave = bucket >> sub_bits;
  const auto offset = static_cast<std::uint64_t>(bucket & (sub - 1));
  return ((static_cast<std::uint64_t>(sub) + offset + 1) << (octave - 1)) - 1;
}

void LatencyHistogram::record(std::int64_t nanoseconds) {
  const auto value = static_cast<std::uint64_t>(std::max<std::int64_t>(nanoseconds, 0));
  ++buckets_[static_cast<std::size_t>(bucket_of(value))];
  ++count_;
  max_ = std::max(max_, static_cast<std::int64_t>(value));
  min_ = std::min(min_, static_cast<std::int64_t>(value));
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

std::int64_t LatencyHistogram::quantile(double fraction) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(
      std::ceil(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      return std::min(static_cast<std::int64_t>(upper_bound_of(static_cast<int>(i))), max_);
    }
  }
  return max_;
}

}  // namespace chat::loadtest
