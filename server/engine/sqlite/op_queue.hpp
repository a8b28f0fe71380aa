#pragma once
// The queue in front of a store thread: any thread pushes (blocking only on the mutex), the store
// thread takes everything queued at once, up to a cap. Unbounded: StoreStats::queued_writes lets
// the caller apply back-pressure.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iterator>
#include <mutex>
#include <vector>

namespace chat::server::storage {

template <typename Op>
class OpQueue {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  // Notifies under the lock: a caller woken by the op's callback may destroy the queue's owner.
  void push(Op op) {
    std::lock_guard lock(mutex_);
    ops_.push_back(std::move(op));
    ready_.notify_one();
  }

  // Waits until something is queued, the queue is closed, or the deadline passes; then takes up to
  // max_ops. Empty means closed-and-drained or timed out.
  std::vector<Op> take(std::size_t max_ops, time_point deadline = time_point::max()) {
    std::unique_lock lock(mutex_);
    const auto ready = [this] { return !ops_.empty() || closed_; };
    if (deadline == time_point::max()) {
      ready_.wait(lock, ready);
    } else {
      ready_.wait_until(lock, deadline, ready);
    }
    const auto count = static_cast<std::ptrdiff_t>(std::min(max_ops, ops_.size()));
    std::vector<Op> taken(std::make_move_iterator(ops_.begin()),
                          std::make_move_iterator(ops_.begin() + count));
    ops_.erase(ops_.begin(), ops_.begin() + count);
    return taken;
  }

  // The thread finishes what is queued (also what is pushed meanwhile) and then leaves.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return ops_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Op> ops_;
  bool closed_ = false;
};

}  // namespace chat::server::storage
