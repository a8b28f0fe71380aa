#pragma once
// Wall-clock time as the protocol carries it: milliseconds since the Unix epoch.

#include <chrono>
#include <cstdint>

namespace chat {

inline std::int64_t unix_time_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace chat
