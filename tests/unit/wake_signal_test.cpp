#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "chat.pb.h"
#include "outbox.hpp"
#include "wake_signal.hpp"

TEST_CASE("a writer waiting on an empty outbox wakes when a frame is pushed") {
  asio::io_context io;
  chat::Outbox outbox;
  chat::WakeSignal signal(io.get_executor());
  std::vector<std::uint64_t> written;
  bool done = false;

  auto writer = [&]() -> asio::awaitable<void> {
    while (written.size() < 3) {
      while (outbox.empty()) co_await signal.wait();
      const std::size_t n = outbox.begin_batch();
      for (std::size_t i = 0; i < n; ++i) written.push_back(outbox.frame(i).seq);
      outbox.complete_batch();
    }
    done = true;
  };
  asio::co_spawn(io, writer(), asio::detached);
  io.poll();
  CHECK(written.empty());  // asleep: nothing queued

  auto push = [&](std::uint64_t seq) {
    chat::v1::ServerFrame frame;
    outbox.push(chat::encode_chat_frame(frame, "r", seq));
    signal.notify();
  };
  asio::post(io, [&] { push(1); });
  io.poll();
  CHECK(written == std::vector<std::uint64_t>{1});
  asio::post(io, [&] {
    push(2);
    push(3);
  });
  io.run();
  CHECK(written == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(done);
}
