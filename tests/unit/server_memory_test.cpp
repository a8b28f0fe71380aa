// Pure parts of the server: a room's messages in memory (with the resend index), and the limiter
// of failed logins per address.
#include <doctest/doctest.h>

#include "login_guard.hpp"
#include "recent_history.hpp"

using chat::server::LoginGuard;
using chat::server::RecentHistory;
using namespace std::chrono_literals;

namespace {

chat::v1::RoomMessage message(std::uint64_t seq, const std::string& from, std::uint64_t id = 0,
                              std::int64_t time_ms = 0) {
  chat::v1::RoomMessage m;
  m.set_room("lobby");
  m.set_seq(seq);
  m.set_from(from);
  m.set_text(std::string("m").append(std::to_string(seq)));
  m.set_client_msg_id(id);
  m.set_server_time_ms(time_ms);
  return m;
}

}  // namespace

TEST_CASE("recent history keeps the newest messages and finds them by sequence") {
  RecentHistory recent;
  for (std::uint64_t seq = 1; seq <= 10; ++seq) recent.push(message(seq, "alice"), 4);
  REQUIRE(recent.messages().size() == 4);
  CHECK(recent.messages().front().seq() == 7);
  CHECK(recent.find(6) == nullptr);
  REQUIRE(recent.find(8) != nullptr);
  CHECK(recent.find(8)->text() == "m8");
  CHECK(recent.find(11) == nullptr);
  recent.trim(2);
  CHECK(recent.messages().front().seq() == 9);
}

TEST_CASE("recent history finds messages across a sequence the store refused") {
  RecentHistory recent;
  recent.push(message(1, "alice", 11), 10);
  recent.push(message(3, "alice", 13), 10);  // 2 was never stored, so never kept
  recent.push(message(4, "alice", 14), 10);
  CHECK(recent.find(2) == nullptr);
  REQUIRE(recent.find(4) != nullptr);
  CHECK(recent.find(4)->seq() == 4);
  CHECK(recent.find(5) == nullptr);
  REQUIRE(recent.find_sent("alice", 14) != nullptr);
  CHECK(recent.find_sent("alice", 14)->seq() == 4);
}

TEST_CASE("a resend is recognised by sender and client_msg_id while the original is kept") {
  RecentHistory recent;
  recent.push(message(1, "Alice", 77), 3);
  recent.push(message(2, "bob", 77), 3);  // the same id from someone else is another message
  recent.push(message(3, "alice", 0), 3);
  REQUIRE(recent.find_sent("alice", 77) != nullptr);
  CHECK(recent.find_sent("alice", 77)->seq() == 1);
  CHECK(recent.find_sent("bob", 77)->seq() == 2);
  CHECK(recent.find_sent("carol", 77) == nullptr);
  CHECK(recent.find_sent("alice", 0) == nullptr);  // no id: never a resend
  recent.push(message(4, "dave"), 3);              // seq 1 leaves memory, and its index entry
  CHECK(recent.find_sent("alice", 77) == nullptr);
  CHECK(recent.find_sent("bob", 77)->seq() == 2);
}

TEST_CASE("recent history forgets messages older than a cutoff") {
  RecentHistory recent;
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    recent.push(message(seq, "a", seq, static_cast<std::int64_t>(seq) * 1000), 10);
  }
  recent.drop_older_than(3500);
  REQUIRE(recent.messages().size() == 2);
  CHECK(recent.messages().front().seq() == 4);
  CHECK(recent.find_sent("a", 3) == nullptr);
  CHECK(recent.find_sent("a", 4) != nullptr);
}

TEST_CASE("failed logins from one address are limited after a burst, then refill") {
  LoginGuard guard(3, 10s);
  const auto start = LoginGuard::clock::now();
  CHECK(guard.wait_before_attempt("10.0.0.1", start).count() == 0);
  for (int i = 0; i < 3; ++i) guard.failed("10.0.0.1", start);
  const auto wait = guard.wait_before_attempt("10.0.0.1", start);
  CHECK(wait > 9s);
  CHECK(wait <= 10s + 1ms);  // rounded up to whole milliseconds
  CHECK(guard.wait_before_attempt("10.0.0.2", start).count() == 0);  // others are not affected
  CHECK(guard.wait_before_attempt("10.0.0.1", start + 10s).count() == 0);
}
