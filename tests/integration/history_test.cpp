// History from the durable store: pages in every direction, history on join, retention with its
// gaps, and edits and deletions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "store_support.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TestClient;
using chat::test::TestServer;
using test::ask;
using test::error_code;
using test::history_after;
using test::history_before;
using test::history_latest;
using test::make_request;
using test::seq_range;
using test::seqs_of;

namespace {

using Seqs = std::vector<std::uint64_t>;

v1::ServerFrame join_with_history(TestClient& client, const std::string& room, int history) {
  return ask(client, make_request([&](v1::ClientFrame& f) {
               f.mutable_join()->set_room(room);
               f.mutable_join()->set_history(history);
             }));
}

Seqs message_seqs(const std::vector<v1::ServerFrame>& frames) {
  Seqs seqs;
  for (const auto& frame : frames) {
    if (frame.has_room_message()) seqs.push_back(frame.room_message().seq());
  }
  return seqs;
}

v1::ServerFrame edit(TestClient& client, const std::string& room, std::uint64_t seq,
                     const std::string& text) {
  return ask(client, make_request([&](v1::ClientFrame& f) {
               f.mutable_edit()->set_room(room);
               f.mutable_edit()->set_seq(seq);
               f.mutable_edit()->set_text(text);
             }));
}

v1::ServerFrame delete_message(TestClient& client, const std::string& room, std::uint64_t seq) {
  return ask(client, make_request([&](v1::ClientFrame& f) {
               f.mutable_delete_()->set_room(room);
               f.mutable_delete_()->set_seq(seq);
             }));
}

}  // namespace

TEST_CASE("History pages after, before and latest, reading from the store what memory dropped") {
  auto config = test::test_config();
  config.history_in_memory = 5;  // so all but the newest 5 of 40 come from the store
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#pages");
  test::say_n(alice, "#pages", 40);

  auto page = history_after(alice, "#pages", 0, 10);
  CHECK(seqs_of(page) == seq_range(1, 10));
  CHECK(page.has_more());
  CHECK_FALSE(page.has_gap());
  CHECK(page.messages(0).text() == "m1");
  CHECK(page.messages(0).from() == "alice");
  CHECK(page.messages(0).room() == "#pages");

  page = history_after(alice, "#pages", 30, 10);
  CHECK(seqs_of(page) == seq_range(31, 40));
  CHECK_FALSE(page.has_more());
  page = history_after(alice, "#pages", 35, 10);
  CHECK(seqs_of(page) == seq_range(36, 40));
  CHECK_FALSE(page.has_more());

  page = history_before(alice, "#pages", 21, 10);
  CHECK(seqs_of(page) == seq_range(11, 20));  // the newest before 21, oldest first
  CHECK(page.has_more());
  page = history_before(alice, "#pages", 5, 10);
  CHECK(seqs_of(page) == seq_range(1, 4));
  CHECK_FALSE(page.has_more());
  CHECK_FALSE(page.has_gap());

  page = history_latest(alice, "#pages", 3);
  CHECK(seqs_of(page) == seq_range(38, 40));
  CHECK(page.has_more());
  page = history_latest(alice, "#pages", 100);
  CHECK(seqs_of(page) == seq_range(1, 40));
  CHECK_FALSE(page.has_more());

  const auto all = test::all_history(alice, "#pages", 7);
  REQUIRE(all.size() == 40);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].seq() == i + 1);
    CHECK(all[i].text() == "m" + std::to_string(i + 1));
  }
}

TEST_CASE("History edges: a huge limit, limit 0, before_seq 0, after the end, a room not joined") {
  auto config = test::test_config();
  config.max_history = 20;
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#edges");
  test::say_n(alice, "#edges", 30);

  auto page = history_after(alice, "#edges", 0, 4000000000u);
  CHECK(seqs_of(page) == seq_range(1, 20));  // capped at max_history
  CHECK(page.has_more());
  page = history_after(alice, "#edges", 0, 0);  // 0: the server's maximum
  CHECK(seqs_of(page) == seq_range(1, 20));
  CHECK(page.has_more());
  page = history_latest(alice, "#edges", 4000000000u);
  CHECK(seqs_of(page) == seq_range(11, 30));
  CHECK(page.has_more());

  page = history_before(alice, "#edges", 0, 10);
  CHECK(page.messages().empty());
  CHECK_FALSE(page.has_more());  // nothing exists below 0
  CHECK_FALSE(page.has_gap());
  page = history_after(alice, "#edges", 30, 10);
  CHECK(page.messages().empty());
  CHECK_FALSE(page.has_more());
  page = history_after(alice, "#edges", 1'000'000'000'000, 10);
  CHECK(page.messages().empty());
  CHECK_FALSE(page.has_more());
  CHECK_FALSE(page.has_gap());

  const auto elsewhere = test::history_frame(
      alice, "#elsewhere", [](v1::History& h) { h.set_after_seq(0); }, 10);
  CHECK(error_code(elsewhere) == v1::Error::NOT_IN_ROOM);
  CHECK(alice.say("#edges", "still fine").ack().seq() == 31);
}

TEST_CASE("Join sends the asked number of recent messages in order, then live traffic") {
  auto config = test::test_config();
  config.history_on_join = 5;
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#j");
  test::say_n(alice, "#j", 10);

  auto bob = TestClient::connect_as(server.port(), "bob");
  const auto joined = join_with_history(bob, "#j", 3);
  REQUIRE(joined.has_join_reply());
  CHECK(joined.join_reply().last_seq() == 10);
  CHECK(message_seqs(bob.skipped()).empty());  // the JoinReply comes first

  auto carol = TestClient::connect_as(server.port(), "carol");
  REQUIRE(join_with_history(carol, "#j", 0).has_join_reply());
  auto dave = TestClient::connect_as(server.port(), "dave");
  REQUIRE(join_with_history(dave, "#j", -1).has_join_reply());  // the default: 5
  auto erin = TestClient::connect_as(server.port(), "erin");
  REQUIRE(join_with_history(erin, "#j", 100).has_join_reply());  // more than there are

  CHECK(alice.say("#j", "live").ack().seq() == 11);
  CHECK(message_seqs(test::messages_until(bob, 11)) == Seqs{8, 9, 10, 11});
  CHECK(message_seqs(test::messages_until(carol, 11)) == Seqs{11});
  CHECK(message_seqs(test::messages_until(dave, 11)) == seq_range(6, 11));
  CHECK(message_seqs(test::messages_until(erin, 11)) == seq_range(1, 11));
}

TEST_CASE("retention keeps the newest messages and History reports the gap below them") {
  auto config = test::test_config();
  config.retention_messages = 10;
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#short");
  test::say_n(alice, "#short", 30);

  // Retention runs in the background shortly after the commits.
  v1::HistoryReply page;
  CHECK(test::eventually([&] {
    page = history_after(alice, "#short", 0, 100);
    return page.has_gap() && seqs_of(page) == seq_range(21, 30);
  }));
  CHECK(page.gap().from_seq() == 1);
  CHECK(page.gap().to_seq() == 20);
  CHECK_FALSE(page.has_more());

  page = history_latest(alice, "#short", 5);
  CHECK(seqs_of(page) == seq_range(26, 30));
  CHECK_FALSE(page.has_gap());  // the range does not reach below what is kept
  page = history_before(alice, "#short", 25, 10);
  CHECK(seqs_of(page) == seq_range(21, 24));
  REQUIRE(page.has_gap());
  CHECK(page.gap().to_seq() == 20);
  page = history_before(alice, "#short", 15, 10);
  CHECK(page.messages().empty());
  REQUIRE(page.has_gap());  // never a silent hole
  CHECK(page.gap().from_seq() >= 1);
  CHECK(page.gap().to_seq() == 14);
  CHECK_FALSE(page.has_more());  // nothing older is kept
  CHECK(alice.say("#short", "next").ack().seq() == 31);
}

TEST_CASE("retention by age removes old messages but the room sequence continues") {
  auto config = test::test_config();
  config.retention_seconds = 1;
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#fleeting");
  test::say_n(alice, "#fleeting", 5);

  v1::HistoryReply page;
  CHECK(test::eventually(
      [&] {
        page = history_after(alice, "#fleeting", 0, 100);
        return page.messages().empty();
      },
      std::chrono::seconds(15)));
  REQUIRE(page.has_gap());
  CHECK(page.gap().from_seq() == 1);
  CHECK(page.gap().to_seq() == 5);
  CHECK(alice.say("#fleeting", "fresh").ack().seq() == 6);
  CHECK(seqs_of(history_after(alice, "#fleeting", 5, 100)) == Seqs{6});
}

TEST_CASE("edit and delete: only the sender, every member is told, History shows the result") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  auto bob = TestClient::connect_as(server.port(), "bob");
  alice.join("#ed");
  bob.join("#ed");
  REQUIRE(alice.say("#ed", "original").ack().seq() == 1);
  REQUIRE(bob.say("#ed", "from bob").ack().seq() == 2);

  CHECK(error_code(edit(bob, "#ed", 1, "hijacked")) == v1::Error::FORBIDDEN);
  CHECK(error_code(delete_message(bob, "#ed", 1)) == v1::Error::FORBIDDEN);
  CHECK(error_code(edit(alice, "#ed", 99, "nothing there")) == v1::Error::NOT_FOUND);
  CHECK(error_code(delete_message(alice, "#ed", 99)) == v1::Error::NOT_FOUND);
  // The new text is validated like a Send's.
  CHECK(error_code(edit(alice, "#ed", 1, "")) == v1::Error::INVALID_TEXT);
  CHECK(error_code(edit(alice, "#ed", 1, "escape \x1b[2J")) == v1::Error::INVALID_TEXT);
  CHECK(error_code(edit(alice, "#ed", 1, std::string(4097, 'x'))) == v1::Error::TEXT_TOO_LONG);
  CHECK(error_code(edit(alice, "#nowhere", 1, "x")) == v1::Error::NOT_IN_ROOM);
  CHECK(error_code(delete_message(alice, "#nowhere", 1)) == v1::Error::NOT_IN_ROOM);

  CHECK(edit(alice, "#ed", 1, "corrected").has_ok());
  for (TestClient* member : {&alice, &bob}) {
    const auto edited = test::event(*member, [](const auto& f) { return f.has_message_edited(); });
    REQUIRE(edited);
    CHECK(edited->message_edited().room() == "#ed");
    CHECK(edited->message_edited().seq() == 1);
    CHECK(edited->message_edited().text() == "corrected");
    CHECK(edited->message_edited().by() == "alice");
  }
  CHECK(delete_message(bob, "#ed", 2).has_ok());
  for (TestClient* member : {&alice, &bob}) {
    const auto deleted =
        test::event(*member, [](const auto& f) { return f.has_message_deleted(); });
    REQUIRE(deleted);
    CHECK(deleted->message_deleted().room() == "#ed");
    CHECK(deleted->message_deleted().seq() == 2);
    CHECK(deleted->message_deleted().by() == "bob");
  }
  // A deleted message is gone for a user: editing it finds nothing.
  CHECK(error_code(edit(bob, "#ed", 2, "resurrected")) == v1::Error::NOT_FOUND);

  const auto page = history_after(bob, "#ed", 0, 10);
  REQUIRE(page.messages_size() == 2);
  CHECK(page.messages(0).text() == "corrected");
  CHECK(page.messages(0).edited());
  CHECK_FALSE(page.messages(0).deleted());
  CHECK(page.messages(1).deleted());
  CHECK(page.messages(1).text().empty());
  // Edits and deletions take no sequence.
  CHECK(alice.say("#ed", "next").ack().seq() == 3);
}
