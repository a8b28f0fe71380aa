#pragma once
// The end of a run or a step search: a summary table for people, JSON for programs, an SVG chart
// for browsers.

#include <iosfwd>
#include <string>

#include "rate_search.hpp"
#include "run.hpp"

namespace chat::loadtest {

void print_summary(const RunResult& result, std::ostream& out);
std::string to_json(const RunResult& result);
std::string to_svg(const RunResult& result);

// A step search (--p99-bound): each step's rate, throughput and latency, and the answer; the
// chart has the rate where a run's has time.
void print_summary(const RateSearch& search, std::ostream& out);
std::string to_json(const RateSearch& search);
std::string to_svg(const RateSearch& search);

}  // namespace chat::loadtest
