// A cluster room's messages in order: live from the channel, holes read from the log, and the
// verdict on a hole the log no longer has.
#include <doctest/doctest.h>
#include <fmt/core.h>

#include <string>
#include <utility>
#include <vector>

#include "message_order.hpp"

namespace chat::server {
namespace {

v1::RoomMessage message(std::uint64_t seq) {
  v1::RoomMessage m;
  m.set_seq(seq);
  m.set_text(fmt::format("m{}", seq));
  return m;
}

std::vector<v1::RoomMessage> messages(std::uint64_t first, std::uint64_t last) {
  std::vector<v1::RoomMessage> result;
  for (std::uint64_t seq = first; seq <= last; ++seq) result.push_back(message(seq));
  return result;
}

// Records what the order puts out, as one line per step: "3" delivered, "gap 4-6", "stale 2".
struct Recorder : MessageOrder::Output {
  std::vector<std::string> steps;
  void deliver(v1::RoomMessage m) override { steps.push_back(std::to_string(m.seq())); }
  void skipped(std::uint64_t first, std::uint64_t last) override {
    steps.push_back(fmt::format("gap {}-{}", first, last));
  }
  void stale(const v1::RoomMessage& m) override {
    steps.push_back(fmt::format("stale {}", m.seq()));
  }
  std::vector<std::string> take() { return std::exchange(steps, {}); }
};

using Steps = std::vector<std::string>;
using Next = MessageOrder::Next;

MessageOrder::Answer page(std::vector<v1::RoomMessage> found, bool has_more = false) {
  return {.ok = true, .messages = std::move(found), .has_more = has_more};
}

MessageOrder::Answer failed_read() { return {.ok = false, .messages = {}, .has_more = false}; }

}  // namespace

TEST_CASE("messages in sequence go out as they come, copies and old ones are stale") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  CHECK_FALSE(order.arrive(message(11), out));
  CHECK_FALSE(order.arrive(message(12), out));
  CHECK_FALSE(order.arrive(message(12), out));
  CHECK_FALSE(order.arrive(message(9), out));
  CHECK(out.take() == Steps{"11", "12", "stale 12", "stale 9"});
  CHECK(order.settled() == 12);
  CHECK(order.held() == 0);
}

TEST_CASE("a message past a hole is held and asks one read, the read fills the hole") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  CHECK(order.arrive(message(13), out));
  CHECK(out.take().empty());
  const auto read = order.start_read();
  CHECK(read.after == 10);
  CHECK(order.reading());
  // Another message past the hole while the read is out asks no second read.
  CHECK_FALSE(order.arrive(message(14), out));
  CHECK(order.on_answer(read.number, page(messages(11, 13)), true, out) == Next::nothing);
  CHECK(out.take() == Steps{"11", "12", "13", "14", "stale 13"});
  CHECK(order.settled() == 14);
  CHECK_FALSE(order.reading());
}

TEST_CASE("a hole the log lacks, read after the message past it arrived, is gone: a gap") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  REQUIRE(order.arrive(message(15), out));
  const auto read = order.start_read();
  // The log was trimmed: it starts at 14.
  CHECK(order.on_answer(read.number, page(messages(14, 15)), true, out) == Next::nothing);
  CHECK(out.take() == Steps{"gap 11-13", "14", "15"});
  CHECK(order.settled() == 15);
}

TEST_CASE("a read asked before the message past the hole arrived proves nothing") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  const auto early_read = order.start_read();   // a rejoin asked it; then 15 arrives
  CHECK_FALSE(order.arrive(message(15), out));  // a read is out already
  // The early read saw the log before 11..15 were in it: the hole stays, a new read is asked.
  CHECK(order.on_answer(early_read.number, page({}), true, out) == Next::read_now);
  CHECK(out.take().empty());
  const auto late_read = order.start_read();
  CHECK(order.on_answer(late_read.number, page(messages(11, 15)), true, out) == Next::nothing);
  CHECK(out.take() == Steps{"11", "12", "13", "14", "15", "stale 15"});
}

TEST_CASE("a page that ends before the hole is no verdict: the rest is read first") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  REQUIRE(order.arrive(message(20), out));
  auto read = order.start_read();
  // A page of 11..13 with more after it: the hole at 14.. may still be in the log.
  CHECK(order.on_answer(read.number, page(messages(11, 13), true), true, out) == Next::read_now);
  CHECK(out.take() == Steps{"11", "12", "13"});
  read = order.start_read();
  CHECK(read.after == 13);
  CHECK(order.on_answer(read.number, page(messages(14, 19)), true, out) == Next::nothing);
  CHECK(out.take() == Steps{"14", "15", "16", "17", "18", "19", "20"});
}

TEST_CASE("a page with more that passes the hole is a verdict: the hole is gone") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  REQUIRE(order.arrive(message(13), out));
  REQUIRE(order.arrive(message(30), out));  // no read out yet: still asks one
  const auto read = order.start_read();
  // The log lacks 11..12 and its page (13..15) goes past the first held message.
  CHECK(order.on_answer(read.number, page(messages(13, 15), true), true, out) == Next::read_now);
  CHECK(out.take() == Steps{"gap 11-12", "13", "14", "15"});
  CHECK(order.held() == 1);  // 30, until the next page
}

TEST_CASE("overlapping reads: every answer's messages apply, only the last read decides") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  REQUIRE(order.arrive(message(14), out));
  const auto first = order.start_read();
  const auto second = order.start_read();
  // The first answer is old news and has nothing: no verdict, since a later read is out.
  CHECK(order.on_answer(first.number, page({}), true, out) == Next::nothing);
  CHECK(out.take().empty());
  CHECK(order.reading());
  CHECK(order.on_answer(second.number, page(messages(11, 13)), true, out) == Next::nothing);
  CHECK(out.take() == Steps{"11", "12", "13", "14"});
}

TEST_CASE("a failed read is asked again twice while the log is reachable, then the hole goes") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  REQUIRE(order.arrive(message(12), out));
  const MessageOrder::Answer failed = failed_read();
  CHECK(order.on_answer(order.start_read().number, failed, true, out) == Next::read_later);
  CHECK(order.failed_reads() == 1);
  CHECK(order.on_answer(order.start_read().number, failed, true, out) == Next::read_later);
  CHECK(order.failed_reads() == 2);
  CHECK(out.take().empty());
  CHECK(order.on_answer(order.start_read().number, failed, true, out) == Next::nothing);
  CHECK(out.take() == Steps{"gap 11-11", "12"});
}

TEST_CASE("a read that failed because the log is away waits for its return") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  REQUIRE(order.arrive(message(12), out));
  const MessageOrder::Answer failed = failed_read();
  CHECK(order.on_answer(order.start_read().number, failed, false, out) == Next::nothing);
  CHECK(order.failed_reads() == 0);
  CHECK(order.held() == 1);
  // Back: the rejoin reads again and finds the hole.
  CHECK(order.on_answer(order.start_read().number, page(messages(11, 12)), true, out) ==
        Next::nothing);
  CHECK(out.take() == Steps{"11", "12", "stale 12"});
}

TEST_CASE("a successful read resets the count of failed ones") {
  MessageOrder order;
  order.reset(10);
  Recorder out;
  REQUIRE(order.arrive(message(12), out));
  const MessageOrder::Answer failed = failed_read();
  CHECK(order.on_answer(order.start_read().number, failed, true, out) == Next::read_later);
  CHECK(order.on_answer(order.start_read().number, page(messages(11, 12)), true, out) ==
        Next::nothing);
  CHECK(order.failed_reads() == 0);
}

TEST_CASE("reset after a load forgets what was held, settle follows the embedded store") {
  MessageOrder order;
  Recorder out;
  REQUIRE(order.arrive(message(5), out));
  order.reset(7);
  CHECK(order.held() == 0);
  CHECK(order.settled() == 7);
  order.settle(9);
  order.settle(8);  // never backwards
  CHECK(order.settled() == 9);
}

}  // namespace chat::server
