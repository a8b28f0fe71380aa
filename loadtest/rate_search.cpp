#include "rate_search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "plan.hpp"
#include "report.hpp"

namespace chat::loadtest {

double RateStep::p99_ms() const {
  return static_cast<double>(result.totals.latency.quantile(0.99)) / 1e6;
}

bool RateStep::within(double p99_bound_ms) const {
  return result.clean() && sent_per_second >= 0.95 * offered_per_second && p99_ms() <= p99_bound_ms;
}

std::optional<std::size_t> RateSearch::highest_within() const {
  std::optional<std::size_t> highest;
  for (std::size_t i = 0; i < steps.size() && steps[i].within(p99_bound_ms); ++i) highest = i;
  return highest;
}

RateSearch search_rate(const Options& options, std::ostream& progress) {
  const Plan plan = make_plan(options);
  const auto senders = std::count_if(plan.clients.begin(), plan.clients.end(),
                                     [](const ClientSpec& client) { return client.sender; });
  RateSearch search{.p99_bound_ms = options.p99_bound_ms, .steps = {}};
  Options step_options = options;
  for (std::uint32_t step = 0; step < options.max_steps; ++step) {
    step_options.seed = options.seed + step;
    progress << fmt::format("== step {}: {:.3g} messages/s per sender ({:.0f}/s in all)\n",
                            step + 1, step_options.rate,
                            step_options.rate * static_cast<double>(senders));
    RunResult result = run_load(step_options, progress);
    print_summary(result, progress);
    const double seconds = std::max(result.run_seconds, 1e-9);
    RateStep done{.rate_per_sender = step_options.rate,
                  .offered_per_second = step_options.rate * static_cast<double>(senders),
                  .sent_per_second = static_cast<double>(result.sent) / seconds,
                  .result = std::move(result)};
    const bool within = done.within(options.p99_bound_ms);
    search.steps.push_back(std::move(done));
    if (!within) break;
    step_options.rate *= options.rate_factor;
  }
  return search;
}

}  // namespace chat::loadtest
