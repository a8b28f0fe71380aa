#pragma once
// Waits in a coroutine test until a condition holds, woken by the callbacks that change it (each
// calls wake()); a condition that never comes true is caught by run_coroutine_test's deadline.

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <functional>

namespace chat::test {

class EventWaiter {
 public:
  explicit EventWaiter(asio::io_context& io) : timer_(io) {}
  void wake() { timer_.cancel(); }
  asio::awaitable<void> until(const std::function<bool()>& done) {
    while (!done()) {
      timer_.expires_after(std::chrono::seconds(20));
      co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }

 private:
  asio::steady_timer timer_;
};

}  // namespace chat::test
