#pragma once
// A token bucket: `rate` tokens per second refill up to `burst`. Pure logic; the caller supplies
// the clock so tests control time.

#include <algorithm>
#include <chrono>

namespace chat {

class TokenBucket {
 public:
  using clock = std::chrono::steady_clock;

  TokenBucket(double rate_per_second, double burst, clock::time_point now = clock::now())
      : rate_(rate_per_second), burst_(burst), tokens_(burst), last_(now) {}

  // Takes `cost` tokens if the bucket holds them; a rate of 0 or less means unlimited.
  bool try_take(double cost, clock::time_point now = clock::now()) {
    if (rate_ <= 0) return true;
    refill(now);
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }

  // How long until `cost` tokens are there.
  std::chrono::milliseconds wait_for(double cost, clock::time_point now = clock::now()) {
    if (rate_ <= 0) return {};
    refill(now);
    if (tokens_ >= cost) return {};
    return std::chrono::milliseconds(static_cast<long long>((cost - tokens_) / rate_ * 1000.0) + 1);
  }

  void reconfigure(double rate_per_second, double burst) {
    rate_ = rate_per_second;
    burst_ = burst;
    tokens_ = std::min(tokens_, burst_);
  }

 private:
  void refill(clock::time_point now) {
    const std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    if (elapsed.count() > 0) tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
  }

  double rate_;
  double burst_;
  double tokens_;
  clock::time_point last_;
};

}  // namespace chat
