#pragma once
// Delays between reconnect attempts: exponential, capped, with random jitter so that thousands of
// clients dropped at once do not come back at once. Pure logic.

#include <chrono>
#include <cstdint>
#include <random>

namespace chat::client {

struct BackoffOptions {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds max{15'000};
  double multiplier = 2.0;
  double jitter = 0.25;  // each delay is scaled by a random factor in [1 - jitter, 1 + jitter]
};

class ReconnectBackoff {
 public:
  explicit ReconnectBackoff(BackoffOptions options, std::uint64_t seed = std::random_device{}())
      : options_(options), random_(seed) {}

  // The delay before the next attempt; each call backs off further, up to the maximum.
  std::chrono::milliseconds next();
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 random_;
  int attempts_ = 0;
};

}  // namespace chat::client
