#include "memory_releaser.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

namespace chat::server {

bool MemoryReleaser::worth_releasing(std::size_t free_bytes, std::size_t heap_bytes) {
  return free_bytes >= min_free_bytes && free_bytes * 4 >= heap_bytes;
}

MemoryReleaser::MemoryReleaser(std::chrono::milliseconds interval,
                               std::atomic<std::uint64_t>& releases)
    : interval_(interval), releases_(releases) {
  if (interval_.count() > 0) thread_ = std::thread([this] { run(); });
}

MemoryReleaser::~MemoryReleaser() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemoryReleaser::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    release_if_worth_it();
    lock.lock();
  }
}

void MemoryReleaser::release_if_worth_it() {
  const struct mallinfo2 before = mallinfo2();
  if (!worth_releasing(before.fordblks, before.arena + before.hblkhd)) return;
  const auto started = std::chrono::steady_clock::now();
  malloc_trim(0);
  const auto took = std::chrono::steady_clock::now() - started;
  releases_.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("gave {:.1f} MiB of free heap back to the system in {:.1f} ms",
                static_cast<double>(before.fordblks) / (1024 * 1024),
                std::chrono::duration<double, std::milli>(took).count());
}

}  // namespace chat::server
