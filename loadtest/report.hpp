#pragma once
// The end of a run: a summary table for people, JSON for programs, an SVG chart for browsers.

#include <iosfwd>
#include <string>

#include "run.hpp"

namespace chat::loadtest {

void print_summary(const RunResult& result, std::ostream& out);
std::string to_json(const RunResult& result);
std::string to_svg(const RunResult& result);

}  // namespace chat::loadtest
