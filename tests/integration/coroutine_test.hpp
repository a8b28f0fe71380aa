#pragma once
// Runs a test written as a coroutine on a fresh io_context, with a deadline: the test fails if the
// coroutine has not finished by then (so a missing event fails instead of hanging). What the
// coroutine left running (clients, proxies) is stopped when it returns.

#include <doctest/doctest.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>

namespace chat::test {

inline void run_coroutine_test(const std::function<asio::awaitable<void>(asio::io_context&)>& test,
                               std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
  asio::io_context io;
  bool finished = false;
  std::exception_ptr failure;
  asio::co_spawn(io, test(io), [&](std::exception_ptr error) {
    failure = error;
    finished = true;
    io.stop();
  });
  io.run_for(deadline);
  REQUIRE_MESSAGE(finished, "the test did not finish within its deadline");
  if (failure) std::rethrow_exception(failure);
}

}  // namespace chat::test
