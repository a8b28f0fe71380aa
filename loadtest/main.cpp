// chat-loadtest: runs a scenario against one or more chat-servers, prints a summary, and exits 0
// only when nothing was lost, duplicated or refused; with --p99-bound, runs it at rising rates and
// exits 0 when at least one rate stayed within the bound.
#include <signal.h>

#include <fstream>
#include <iostream>

#include "options.hpp"
#include "report.hpp"
#include "run.hpp"

int main(int argc, char** argv) {
  using namespace chat::loadtest;
  ::signal(SIGPIPE, SIG_IGN);
  auto parsed = parse_options(argc, argv, std::cout, std::cerr);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const Options& options = std::get<Options>(parsed);
  try {
    if (options.p99_bound_ms > 0) {
      const RateSearch search = search_rate(options, std::cout);
      print_summary(search, std::cout);
      if (!options.json_path.empty()) std::ofstream(options.json_path) << to_json(search);
      if (!options.svg_path.empty()) std::ofstream(options.svg_path) << to_svg(search);
      return search.highest_within() ? 0 : 1;
    }
    const RunResult result = run_load(options, std::cout);
    print_summary(result, std::cout);
    if (!options.json_path.empty()) std::ofstream(options.json_path) << to_json(result);
    if (!options.svg_path.empty()) std::ofstream(options.svg_path) << to_svg(result);
    return result.clean() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "chat-loadtest: " << e.what() << "\n";
    return 1;
  }
}
