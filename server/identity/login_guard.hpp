#pragma once
// Failed logins per source address: a token bucket each (burst, then one more per refill period),
// so that guessing a password from one address is slow while a typo costs nothing. Thread-safe:
// logins finish on the password hashing threads.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "token_bucket.hpp"

namespace chat::server {

class LoginGuard {
 public:
  using clock = std::chrono::steady_clock;

  LoginGuard(std::uint32_t burst, std::chrono::seconds refill) : burst_(burst), refill_(refill) {}

  // How long the address must wait before its next attempt (zero: it may try now).
  std::chrono::milliseconds wait_before_attempt(const std::string& address,
                                                clock::time_point now = clock::now());
  void failed(const std::string& address, clock::time_point now = clock::now());

 private:
  TokenBucket& bucket_of(const std::string& address, clock::time_point now);

  std::mutex mutex_;
  std::uint32_t burst_;
  std::chrono::seconds refill_;
  std::unordered_map<std::string, TokenBucket> buckets_;
};

}  // namespace chat::server
