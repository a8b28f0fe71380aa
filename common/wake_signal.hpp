#pragma once
// A single-threaded condition variable for coroutines: a timer that never expires by itself, so
// wait() sleeps until notify() cancels it. The waiter checks its condition before waiting, and
// both sides run on one executor, so no wake-up is lost.

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace chat {

class WakeSignal {
 public:
  explicit WakeSignal(const asio::any_io_executor& executor)
      : timer_(executor, asio::steady_timer::time_point::max()) {}

  void notify() { timer_.cancel(); }

  asio::awaitable<void> wait() {
    co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }

 private:
  asio::steady_timer timer_;
};

}  // namespace chat
