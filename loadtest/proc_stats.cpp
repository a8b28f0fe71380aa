#include "proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace chat::loadtest {

std::optional<ProcessSample> sample_process(int pid) {
  ProcessSample sample;
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  double pages = 0;
  double resident = 0;
  if (!(statm >> pages >> resident)) return std::nullopt;
  sample.rss_bytes = resident * static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // Fields after the command name (which may hold spaces) start after the last ')'.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  sample.cpu_seconds = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return sample;
}

ProcessSample sample_self() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  ProcessSample sample;
  sample.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  if (auto self = sample_process(getpid())) sample.rss_bytes = self->rss_bytes;
  return sample;
}

}  // namespace chat::loadtest
