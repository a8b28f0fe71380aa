// The client library's pure parts: sequence tracking for resume and gaps, and reconnect backoff.
#include <doctest/doctest.h>

#include "reconnect_backoff.hpp"
#include "room_tracker.hpp"

#include <set>

using chat::client::BackoffOptions;
using chat::client::ReconnectBackoff;
using chat::client::RoomTracker;
using chat::client::SeqRange;
using namespace std::chrono_literals;

TEST_CASE("a tracker accepts join history, then live messages in order") {
  RoomTracker tracker(10);  // joined when the room was at 10; history 8..10 follows
  CHECK(tracker.on_message(8).deliver);
  CHECK_FALSE(tracker.on_message(8).missed);
  CHECK(tracker.on_message(9).deliver);
  CHECK(tracker.on_message(10).deliver);
  const auto live = tracker.on_message(11);
  CHECK(live.deliver);
  CHECK_FALSE(live.missed);
  CHECK(tracker.last_seen() == 11);
}

TEST_CASE("a tracker without any message resumes from the join sequence") {
  RoomTracker tracker(42);
  CHECK(tracker.last_seen() == 42);
  CHECK(tracker.missed_before(50) == 8);
  CHECK(tracker.missed_before(40) == 0);  // a room that went back (restart without a store)
}

TEST_CASE("a tracker drops replayed duplicates and reports holes") {
  RoomTracker tracker(0);
  CHECK(tracker.on_message(1).deliver);
  CHECK(tracker.on_message(2).deliver);
  CHECK_FALSE(tracker.on_message(2).deliver);
  CHECK_FALSE(tracker.on_message(1).deliver);
  const auto skipped = tracker.on_message(6);
  CHECK(skipped.deliver);
  REQUIRE(skipped.missed);
  CHECK(*skipped.missed == SeqRange{3, 5});
  CHECK_FALSE(tracker.on_message(4).deliver);  // behind what was seen: a late duplicate
}

TEST_CASE("a message right after the join sequence is not a hole, one after that is") {
  RoomTracker tracker(5);
  CHECK_FALSE(tracker.on_message(6).missed);
  RoomTracker other(5);
  const auto verdict = other.on_message(8);
  REQUIRE(verdict.missed);
  CHECK(*verdict.missed == SeqRange{6, 7});
}

TEST_CASE("a server gap moves the tracker past the lost range") {
  RoomTracker tracker(0);
  tracker.on_message(1);
  tracker.on_gap(9);
  CHECK(tracker.last_seen() == 9);
  const auto next = tracker.on_message(10);
  CHECK(next.deliver);
  CHECK_FALSE(next.missed);
  tracker.on_gap(3);  // an old gap does not move it back
  CHECK(tracker.last_seen() == 10);
}

TEST_CASE("backoff grows exponentially up to the maximum, with bounded jitter") {
  BackoffOptions options;
  options.initial = 100ms;
  options.max = 1000ms;
  options.multiplier = 2;
  options.jitter = 0.25;
  ReconnectBackoff backoff(options, 7);
  const double expected[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (const double base : expected) {
    const auto delay = backoff.next();
    CHECK(delay.count() >= static_cast<long long>(base * 0.75) - 1);
    CHECK(delay.count() <= static_cast<long long>(std::min(base * 1.25, 1000.0)));
  }
  CHECK(backoff.attempts() == 7);
  backoff.reset();
  CHECK(backoff.next().count() <= 125);
}

TEST_CASE("backoff jitter spreads clients that start together") {
  BackoffOptions options;
  options.initial = 1000ms;
  std::set<long long> delays;
  for (std::uint64_t seed = 0; seed < 50; ++seed)
    delays.insert(ReconnectBackoff(options, seed).next().count());
  CHECK(delays.size() > 25);
}
