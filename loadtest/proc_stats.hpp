#pragma once
// Resource use of a process from /proc (the server's, via --server-pid) and of this process.

#include <optional>

namespace chat::loadtest {

struct ProcessSample {
  double rss_bytes = 0;
  double cpu_seconds = 0;  // user + system
};

// nullopt when the process does not exist or /proc cannot be read.
std::optional<ProcessSample> sample_process(int pid);
ProcessSample sample_self();

}  // namespace chat::loadtest
