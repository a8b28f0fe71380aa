#pragma once
// Awaits a call that answers through a callback on some other thread (an engine's, the password
// hasher's): the coroutine resumes on its own executor with the result.

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <functional>
#include <memory>
#include <utility>

namespace chat::server {

// start(done) makes the call; done(result) may run on any thread, once.
template <class Result, class Start>
asio::awaitable<Result> answer_of(asio::any_io_executor executor, Start start) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result)>(
      [executor, start = std::move(start)](auto handler) mutable {
        // The callbacks are std::function, which must be copyable; the coroutine's handler is not.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start(std::function<void(Result)>([executor, shared](Result result) {
          asio::post(executor, [shared, result = std::move(result)]() mutable {
            (*shared)(std::move(result));
          });
        }));
      },
      asio::use_awaitable);
}

}  // namespace chat::server
