// MemoryReleaser: when free heap is worth giving back, and that it does after a burst.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "memory_releaser.hpp"

using chat::server::MemoryReleaser;
using namespace std::chrono_literals;

TEST_CASE("free heap is given back when there is much of it, and a quarter of the heap") {
  constexpr std::size_t mib = 1024 * 1024;
  CHECK_FALSE(MemoryReleaser::worth_releasing(0, 100 * mib));
  CHECK_FALSE(MemoryReleaser::worth_releasing(4 * mib, 8 * mib));     // a small heap: not worth it
  CHECK_FALSE(MemoryReleaser::worth_releasing(20 * mib, 200 * mib));  // a tenth: normal churn
  CHECK(MemoryReleaser::worth_releasing(8 * mib, 32 * mib));
  CHECK(MemoryReleaser::worth_releasing(60 * mib, 100 * mib));
}

TEST_CASE("an interval of zero starts nothing and releases nothing") {
  std::atomic<std::uint64_t> releases{0};
  { MemoryReleaser releaser(0ms, releases); }
  CHECK(releases == 0);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // glibc's heap, not theirs
TEST_CASE("after a burst of small allocations is freed, the free heap is given back") {
  // Small blocks (not mmapped), with a kept one between freed ones so the free memory is in the
  // middle of the heap, where only malloc_trim returns it.
  std::vector<void*> kept;
  std::vector<void*> freed;
  for (int i = 0; i < 40000; ++i) {
    kept.push_back(std::malloc(64));
    freed.push_back(std::malloc(1000));
  }
  for (void* block : freed) std::free(block);
  std::atomic<std::uint64_t> releases{0};
  {
    MemoryReleaser releaser(5ms, releases);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (releases == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
  }
  CHECK(releases >= 1);
  for (void* block : kept) std::free(block);
}
#endif
