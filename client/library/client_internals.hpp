#pragma once
// Pieces shared by the client's source files; not part of its interface.

#include <asio/buffer.hpp>
#include <asio/steady_timer.hpp>
#include <optional>
#include <string>

#include "client.hpp"

namespace chat::client {

// A call waiting for its reply. The timer is its deadline and its wake-up: complete() and fail()
// cancel it; an expiry in the future (time_point::max() while a send waits for a connection) means
// "keep waiting".
struct Client::Waiter {
  explicit Waiter(const asio::any_io_executor& executor) : timer(executor) {}
  bool done() const { return reply || failure; }
  void fail(Failure why) {
    failure = std::move(why);
    timer.cancel();
  }

  asio::steady_timer timer;
  std::optional<v1::ServerFrame> reply;
  std::optional<Failure> failure;
};

struct Client::PendingSend {
  explicit PendingSend(const asio::any_io_executor& executor) : waiter(executor) {}

  std::string room;
  std::string text;
  bool action = false;
  Waiter waiter;
};

inline asio::mutable_buffer read_space(FrameDecoder& decoder) {
  const std::span<char> space = decoder.prepare();
  return asio::mutable_buffer(space.data(), space.size());
}

inline Failure failure_of(const v1::Error& error) {
  return Failure{error.code(), error.message(), error.retry_after_ms()};
}

inline Failure unavailable(std::string message) {
  return Failure{v1::Error::UNAVAILABLE, std::move(message), 0};
}

}  // namespace chat::client
