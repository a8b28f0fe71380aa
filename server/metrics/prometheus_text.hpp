#pragma once
// Builds a scrape in the Prometheus text exposition format 0.0.4. The writer checks what would
// make the exposition invalid (names, a family split in two, a reserved label) and throws;
// naming conventions beyond the counters' "_total" are the caller's.

#include <concepts>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "latency_histogram.hpp"

namespace chat::server {

// A sample value: integers print as integers, floating point in the shortest form that reads back
// as the same double ("+Inf", "-Inf" and "NaN" as Prometheus spells them).
class MetricValue {
 public:
  template <std::integral T>
  MetricValue(T value)  // NOLINT(google-explicit-constructor): call sites pass plain numbers
      : text_(std::is_signed_v<T> ? std::to_string(static_cast<long long>(value))
                                  : std::to_string(static_cast<unsigned long long>(value))) {}
  MetricValue(double value);  // NOLINT(google-explicit-constructor)

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // Each call writes one sample; "# HELP" and "# TYPE" come before the first sample of a family.
  // The samples of one family (same name, different labels) must be written consecutively: a
  // family met again after another one throws std::logic_error, as does a name reused with
  // another type. A name that is not [a-zA-Z_:][a-zA-Z0-9_:]*, a label name that is not
  // [a-zA-Z_][a-zA-Z0-9_]* or starts with "__", or a counter not named "..._total" throws
  // std::invalid_argument.
  void counter(std::string_view name, std::string_view help, MetricValue value,
               const Labels& labels = {});
  void gauge(std::string_view name, std::string_view help, MetricValue value,
             const Labels& labels = {});
  // Writes name_bucket (one per bound, then le="+Inf"), name_sum and name_count. The labels may
  // not include "le".
  void histogram(std::string_view name, std::string_view help,
                 const LatencyHistogram::Snapshot& snapshot, const Labels& labels = {});

  // The text written so far; the writer starts over, empty.
  std::string take();

 private:
  void begin_family(std::string_view name, std::string_view help, std::string_view type,
                    const Labels& labels);
  void write_sample(std::string_view name, const Labels& labels, std::string_view value,
                    std::string_view le = {});

  std::string out_;
  std::string family_;  // the family whose samples are being written
  std::string family_type_;
  std::set<std::string, std::less<>> finished_;  // families written before family_
};

}  // namespace chat::server
