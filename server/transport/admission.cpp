#include "admission.hpp"

#include <unistd.h>

#include <fstream>

namespace chat::server {

std::uint64_t default_memory_budget() {
  const auto pages = sysconf(_SC_PHYS_PAGES);
  const auto page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 5 * 4;
}

std::uint64_t Admission::resident_bytes() {
  // Reading /proc costs a few microseconds: at most every 50 ms, even in a connection storm.
  const auto now = std::chrono::steady_clock::now();
  if (now - rss_read_at_ < std::chrono::milliseconds(50)) return rss_bytes_;
  rss_read_at_ = now;
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  if (statm >> size >> resident)
    rss_bytes_ = resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  return rss_bytes_;
}

std::optional<Refusal> Admission::admit(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (total_ >= limits_.max_connections) {
    return Refusal{RefusalCause::max_connections, v1::Disconnect::TOO_MANY_CONNECTIONS,
                   "the server is at its connection limit", 1000};
  }
  auto& from_address = per_address_[address];
  if (limits_.max_per_address > 0 && from_address >= limits_.max_per_address) {
    if (from_address == 0) per_address_.erase(address);
    return Refusal{RefusalCause::per_address, v1::Disconnect::TOO_MANY_CONNECTIONS,
                   "too many connections from your address", 1000};
  }
  if (limits_.memory_budget_bytes > 0 && resident_bytes() > limits_.memory_budget_bytes) {
    if (from_address == 0) per_address_.erase(address);
    // Jitter spreads the retries of a refused crowd over time (xorshift: no need for quality).
    jitter_state_ ^= jitter_state_ << 13;
    jitter_state_ ^= jitter_state_ >> 7;
    jitter_state_ ^= jitter_state_ << 17;
    return Refusal{RefusalCause::memory, v1::Disconnect::OVERLOADED,
                   "the server is out of memory for new connections",
                   static_cast<std::uint32_t>(1000 + jitter_state_ % 4000)};
  }
  ++from_address;
  ++total_;
  return std::nullopt;
}

void Admission::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  if (total_ > 0) --total_;
}

void Admission::set_limits(AdmissionLimits limits) {
  std::lock_guard lock(mutex_);
  limits_ = limits;
}

std::uint32_t Admission::connections() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace chat::server
