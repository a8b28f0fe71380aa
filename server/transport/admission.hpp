#pragma once
// Decides whether a new connection may in: total and per-address connection limits, and a memory
// budget checked against the process's resident size. Called from the accept loop; release() from
// any shard when a connection ends.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "chat.pb.h"

namespace chat::server {

struct AdmissionLimits {
  std::uint32_t max_connections = 0;
  std::uint32_t max_per_address = 0;  // 0: no limit
  std::uint64_t memory_budget_bytes = 0;
};

// Why a connection was refused, for metrics.
enum class RefusalCause { max_connections, per_address, memory };
inline constexpr std::size_t refusal_cause_count = 3;

struct Refusal {
  RefusalCause cause;
  v1::Disconnect::Reason reason;
  std::string message;
  std::uint32_t retry_after_ms = 0;
};

class Admission {
 public:
  explicit Admission(AdmissionLimits limits) : limits_(limits) {}

  // Admits the connection (counting it) or says why not.
  std::optional<Refusal> admit(const std::string& address);
  void release(const std::string& address);
  void set_limits(AdmissionLimits limits);
  std::uint32_t connections() const;

 private:
  std::uint64_t resident_bytes();

  mutable std::mutex mutex_;
  AdmissionLimits limits_;
  std::uint32_t total_ = 0;
  std::unordered_map<std::string, std::uint32_t> per_address_;
  std::chrono::steady_clock::time_point rss_read_at_{};
  std::uint64_t rss_bytes_ = 0;
  std::uint64_t jitter_state_ = 0x9e3779b97f4a7c15ULL;
};

// 80% of physical memory, the default memory budget.
std::uint64_t default_memory_budget();

}  // namespace chat::server
