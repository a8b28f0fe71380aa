#include <doctest/doctest.h>

#include <string>

#include "chat.pb.h"
#include "decode_frame.hpp"
#include "framing.hpp"
#include "outbox.hpp"

using chat::FramePriority;
using chat::Outbox;
using chat::PushResult;
using chat::test::decode;

namespace {

chat::SharedFrame chat_frame(const std::string& room, std::uint64_t seq, std::size_t size = 100) {
  chat::v1::ServerFrame frame;
  frame.mutable_room_message()->set_room(room);
  frame.mutable_room_message()->set_seq(seq);
  frame.mutable_room_message()->set_text(std::string(size, 'x'));
  return chat::encode_chat_frame(frame, room, seq);
}

chat::SharedFrame frame_of(FramePriority priority, std::size_t size = 100) {
  chat::v1::ServerFrame frame;
  frame.mutable_typing()->set_nick(std::string(size, 'n'));
  return chat::encode_frame(frame, priority);
}

}  // namespace

TEST_CASE("frames come out in the order they went in, in batches capped by count and bytes") {
  Outbox outbox({.soft_bytes = 1 << 20,
                 .hard_bytes = 1 << 21,
                 .batch_max_frames = 4,
                 .batch_max_bytes = 1 << 20});
  for (std::uint64_t seq = 1; seq <= 10; ++seq)
    REQUIRE(outbox.push(chat_frame("r", seq)) == PushResult::queued);
  std::uint64_t expected = 1;
  while (!outbox.empty()) {
    const std::size_t n = outbox.begin_batch();
    CHECK(n <= 4);
    for (std::size_t i = 0; i < n; ++i) CHECK(outbox.frame(i).seq == expected++);
    outbox.complete_batch();
  }
  CHECK(expected == 11);
  CHECK(outbox.bytes() == 0);
}

TEST_CASE("a batch is capped in bytes but always takes at least one frame") {
  Outbox outbox({.soft_bytes = 1 << 20,
                 .hard_bytes = 1 << 21,
                 .batch_max_frames = 100,
                 .batch_max_bytes = 250});
  outbox.push(chat_frame("r", 1, 400));
  outbox.push(chat_frame("r", 2, 100));
  outbox.push(chat_frame("r", 3, 100));
  CHECK(outbox.begin_batch() == 1);
  outbox.complete_batch();
  CHECK(outbox.begin_batch() == 2);
}

TEST_CASE("above the soft limit presence is shed, chat and control are kept") {
  Outbox outbox({.soft_bytes = 1000, .hard_bytes = 100000});
  for (std::uint64_t seq = 1; seq <= 10; ++seq) outbox.push(chat_frame("r", seq));
  CHECK(outbox.bytes() > 1000);
  CHECK(outbox.push(frame_of(FramePriority::presence)) == PushResult::dropped);
  CHECK(outbox.push(chat_frame("r", 11)) == PushResult::queued);
  CHECK(outbox.push(frame_of(FramePriority::control)) == PushResult::queued);
  CHECK(outbox.counters().presence_dropped == 1);
  CHECK(outbox.size() == 12);
}

TEST_CASE("above the hard limit the room backlog becomes one Gap per room, in place") {
  Outbox outbox({.soft_bytes = 500, .hard_bytes = 2000});
  outbox.push(frame_of(FramePriority::control, 10));  // a reply queued before the backlog
  std::uint64_t seq_a = 0;
  std::uint64_t seq_b = 100;
  bool to_a = true;
  while (outbox.counters().collapses == 0) {
    const PushResult result =
        to_a ? outbox.push(chat_frame("a", ++seq_a)) : outbox.push(chat_frame("b", ++seq_b));
    REQUIRE(result == PushResult::queued);
    to_a = !to_a;
  }
  // The last push (to room a or b) caused the collapse and is queued after the Gaps.
  const bool last_was_a = !to_a;
  REQUIRE(outbox.size() == 4);
  CHECK(outbox.frame(0).priority == FramePriority::control);
  const auto gap_a = decode(outbox.frame(1));
  REQUIRE(gap_a.has_gap());
  CHECK(gap_a.gap().room() == "a");
  CHECK(gap_a.gap().from_seq() == 1);
  CHECK(gap_a.gap().to_seq() == (last_was_a ? seq_a - 1 : seq_a));
  const auto gap_b = decode(outbox.frame(2));
  REQUIRE(gap_b.has_gap());
  CHECK(gap_b.gap().room() == "b");
  CHECK(gap_b.gap().from_seq() == 101);
  CHECK(gap_b.gap().to_seq() == (last_was_a ? seq_b : seq_b - 1));
  CHECK(outbox.frame(3).seq == (last_was_a ? seq_a : seq_b));
  CHECK(outbox.counters().messages_gapped == seq_a + (seq_b - 100) - 1);
}

TEST_CASE("a client that stays behind after a collapse overflows, one that reads does not") {
  Outbox outbox({.soft_bytes = 500, .hard_bytes = 2000});
  std::uint64_t seq = 0;
  auto fill_until_collapse = [&] {
    const auto before = outbox.counters().collapses;
    PushResult result = PushResult::queued;
    while (outbox.counters().collapses == before && result == PushResult::queued)
      result = outbox.push(chat_frame("r", ++seq));
    return result;
  };
  CHECK(fill_until_collapse() == PushResult::queued);
  // The client takes one batch: progress, so the next backlog may collapse again.
  outbox.begin_batch();
  outbox.complete_batch();
  CHECK(fill_until_collapse() == PushResult::queued);
  CHECK(outbox.counters().collapses == 2);
  // No batch taken since: the client stays behind.
  PushResult result = PushResult::queued;
  while (result == PushResult::queued) result = outbox.push(chat_frame("r", ++seq));
  CHECK(result == PushResult::overflow);
  CHECK(outbox.counters().collapses == 2);
}

TEST_CASE("frames in flight are never removed by a collapse") {
  Outbox outbox({.soft_bytes = 500, .hard_bytes = 2000, .batch_max_frames = 3});
  for (std::uint64_t seq = 1; seq <= 5; ++seq) outbox.push(chat_frame("r", seq));
  REQUIRE(outbox.begin_batch() == 3);
  std::uint64_t seq = 5;
  while (outbox.counters().collapses == 0)
    REQUIRE(outbox.push(chat_frame("r", ++seq)) == PushResult::queued);
  CHECK(outbox.frame(0).seq == 1);
  CHECK(outbox.frame(2).seq == 3);
  const auto gap = decode(outbox.frame(3));
  REQUIRE(gap.has_gap());
  CHECK(gap.gap().from_seq() == 4);
  outbox.complete_batch();
  CHECK(outbox.frame(0).priority == FramePriority::control);
}

TEST_CASE("control frames are kept above the hard limit up to twice it") {
  Outbox outbox({.soft_bytes = 100, .hard_bytes = 1000});
  int queued = 0;
  while (outbox.push(frame_of(FramePriority::control, 100)) == PushResult::queued) ++queued;
  CHECK(outbox.bytes() <= 2000);
  CHECK(queued >= 15);
  outbox.push_unbounded(frame_of(FramePriority::control, 100));
  CHECK(outbox.bytes() > 2000);
}
