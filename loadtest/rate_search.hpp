#pragma once
// --p99-bound: the highest rate a server carries within a latency bound. The scenario runs again
// and again on fresh connections (a new seed each step, so no nick waits for the last step's to
// be released), the rate per sender rising by a factor each step, until a step's p99 delivery
// latency passes the bound, the senders could not send at the offered rate, or the run was not
// clean.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "run.hpp"

namespace chat::loadtest {

struct RateStep {
  double rate_per_sender = 0;
  double offered_per_second = 0;  // messages/s asked of all senders together
  double sent_per_second = 0;     // messages/s they sent
  RunResult result;
  double p99_ms() const;
  // Clean, sent at least 95 % of what was offered, and p99 within the bound.
  bool within(double p99_bound_ms) const;
};

struct RateSearch {
  double p99_bound_ms = 0;
  std::vector<RateStep> steps;
  // The last step within the bound before the first one outside it; nullopt if the first failed.
  std::optional<std::size_t> highest_within() const;
};

// Each step's summary goes to progress as it ends.
RateSearch search_rate(const Options& options, std::ostream& progress);

}  // namespace chat::loadtest
