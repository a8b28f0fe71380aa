#pragma once
// Gives the heap's free pages back to the system after a burst: a storm of connects and joins, a
// wide history fetch. glibc keeps freed memory in the middle of its heap, so without this the
// resident size (which the memory budget admits connections by) stays at the burst's peak: after
// 5,000 IRC joins, about 5 KB per connection of the 13 KB measured was free heap. A thread of its
// own looks every interval and calls malloc_trim only when enough is free to be worth the few
// milliseconds it takes (it walks every arena).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace chat::server {

class MemoryReleaser {
 public:
  // Free heap worth giving back: at least this much, and at least a quarter of the heap.
  static constexpr std::size_t min_free_bytes = 8 * 1024 * 1024;
  static bool worth_releasing(std::size_t free_bytes, std::size_t heap_bytes);

  // Starts the thread (interval 0: never, no thread); counts each release in releases.
  MemoryReleaser(std::chrono::milliseconds interval, std::atomic<std::uint64_t>& releases);
  ~MemoryReleaser();
  MemoryReleaser(const MemoryReleaser&) = delete;
  MemoryReleaser& operator=(const MemoryReleaser&) = delete;

 private:
  void run();
  void release_if_worth_it();

  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<std::uint64_t>& releases_;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace chat::server
