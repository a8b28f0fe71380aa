#include "login_guard.hpp"

namespace chat::server {

TokenBucket& LoginGuard::bucket_of(const std::string& address, clock::time_point now) {
  if (buckets_.size() > 100'000) buckets_.clear();  // bounded: forgetting only forgives
  const double rate = 1.0 / static_cast<double>(std::max<std::int64_t>(refill_.count(), 1));
  return buckets_.try_emplace(address, rate, static_cast<double>(std::max(burst_, 1u)), now)
      .first->second;
}

std::chrono::milliseconds LoginGuard::wait_before_attempt(const std::string& address,
                                                          clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(address);
  if (it == buckets_.end()) return {};
  return it->second.wait_for(1, now);
}

void LoginGuard::failed(const std::string& address, clock::time_point now) {
  std::lock_guard lock(mutex_);
  bucket_of(address, now).try_take(1, now);
}

}  // namespace chat::server
