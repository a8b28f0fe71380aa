// The durable store end to end: restarts on the same data directory, rooms that outlive their
// members, de-duplication by client_msg_id, and resume after a reconnect.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "store_support.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TempDir;
using chat::test::TestClient;
using chat::test::TestServer;
using test::ask;
using test::make_request;
using test::seq_range;

namespace {

v1::ClientFrame set_topic(const std::string& room, const std::string& topic) {
  return make_request([&](v1::ClientFrame& f) {
    f.mutable_set_topic()->set_room(room);
    f.mutable_set_topic()->set_topic(topic);
  });
}

v1::ClientFrame edit(const std::string& room, std::uint64_t seq, const std::string& text) {
  return make_request([&](v1::ClientFrame& f) {
    f.mutable_edit()->set_room(room);
    f.mutable_edit()->set_seq(seq);
    f.mutable_edit()->set_text(text);
  });
}

v1::ClientFrame delete_message(const std::string& room, std::uint64_t seq) {
  return make_request([&](v1::ClientFrame& f) {
    f.mutable_delete_()->set_room(room);
    f.mutable_delete_()->set_seq(seq);
  });
}

std::vector<std::uint64_t> seqs_of(const std::vector<v1::ServerFrame>& frames) {
  std::vector<std::uint64_t> seqs;
  for (const auto& frame : frames) {
    if (frame.has_room_message()) seqs.push_back(frame.room_message().seq());
  }
  return seqs;
}

bool has_message_or_gap(const std::vector<v1::ServerFrame>& frames) {
  for (const auto& frame : frames) {
    if (frame.has_room_message() || frame.has_gap()) return true;
  }
  return false;
}

// Waits for the JoinReply a resumed room gets (request_id 0); nothing of the room may come first.
v1::JoinReply resumed_join(TestClient& client, const std::string& room) {
  const auto reply = client.wait_for([&](const v1::ServerFrame& f) {
    return f.request_id() == 0 && f.has_join_reply() && f.join_reply().room() == room;
  });
  REQUIRE(reply);
  CHECK_FALSE(has_message_or_gap(client.skipped()));
  return reply->join_reply();
}

}  // namespace

TEST_CASE("messages, edits, topic and sequences survive a restart on the same data directory") {
  TempDir dir;
  const auto config = test::sqlite_config(dir);
  std::optional<TestServer> server(std::in_place, config);
  {
    auto alice = TestClient::connect_as(server->port(), "alice");
    REQUIRE(alice.join("#keep").has_join_reply());
    CHECK(test::say_n(alice, "#keep", 5) == seq_range(1, 5));
    CHECK(ask(alice, set_topic("#keep", "kept topic")).has_ok());
    CHECK(ask(alice, edit("#keep", 2, "m2 fixed")).has_ok());
    CHECK(ask(alice, delete_message("#keep", 3)).has_ok());
  }
  server.reset();  // stops the server
  server.emplace(config);

  auto bob = TestClient::connect_as(server->port(), "bob");
  const auto joined = bob.join("#keep");
  REQUIRE(joined.has_join_reply());
  CHECK(joined.join_reply().last_seq() == 5);
  CHECK(joined.join_reply().topic() == "kept topic");
  // History on join comes from the store. Whether a deleted message is sent on join (marked
  // deleted) or left out is open: only the others are required.
  std::vector<std::uint64_t> shown;
  for (const auto& frame : test::messages_until(bob, 5)) {
    const auto& message = frame.room_message();
    if (message.seq() == 3) CHECK((message.deleted() && message.text().empty()));
    if (message.seq() == 2) CHECK(message.text() == "m2 fixed");
    if (message.seq() != 3) shown.push_back(message.seq());
  }
  CHECK(shown == std::vector<std::uint64_t>{1, 2, 4, 5});

  const auto all = test::all_history(bob, "#keep");
  REQUIRE(all.size() == 5);
  CHECK(all[0].text() == "m1");
  CHECK(all[0].from() == "alice");
  CHECK(all[1].text() == "m2 fixed");
  CHECK(all[1].edited());
  CHECK(all[2].deleted());
  CHECK(all[2].text().empty());
  CHECK(all[4].text() == "m5");
  CHECK(bob.say("#keep", "after the restart").ack().seq() == 6);

  // Ownership is by nick, and survives the restart: alice's new session edits her old message.
  auto alice = TestClient::connect_as(server->port(), "alice");
  alice.join("#keep");
  CHECK(ask(alice, edit("#keep", 1, "m1 fixed")).has_ok());
  CHECK(test::error_code(ask(bob, edit("#keep", 4, "not mine"))) == v1::Error::FORBIDDEN);
}

TEST_CASE("a room keeps its sequence and topic after its last member leaves") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#quiet");
  test::say_n(alice, "#quiet", 3);
  CHECK(ask(alice, set_topic("#quiet", "still here")).has_ok());
  CHECK(ask(alice, make_request([](auto& f) { f.mutable_leave()->set_room("#quiet"); })).has_ok());

  // A chat user expects an empty room to stay listed (with no members) rather than vanish.
  const auto list = ask(alice, make_request([](auto& f) { f.mutable_list_rooms(); }));
  REQUIRE(list.has_room_list());
  REQUIRE(list.room_list().rooms_size() == 1);
  CHECK(list.room_list().rooms(0).room() == "#quiet");
  CHECK(list.room_list().rooms(0).member_count() == 0);
  CHECK(list.room_list().rooms(0).last_seq() == 3);

  auto bob = TestClient::connect_as(server.port(), "bob");
  const auto joined = bob.join("#quiet");
  REQUIRE(joined.has_join_reply());
  CHECK(joined.join_reply().last_seq() == 3);
  CHECK(joined.join_reply().topic() == "still here");
  CHECK(joined.join_reply().member_count() == 1);
  CHECK(seqs_of(test::messages_until(bob, 3)) == seq_range(1, 3));
  CHECK(bob.say("#quiet", "hello?").ack().seq() == 4);
}

TEST_CASE("a resent client_msg_id is stored and delivered once, also after a restart") {
  TempDir dir;
  const auto config = test::sqlite_config(dir);
  std::optional<TestServer> server(std::in_place, config);
  {
    auto alice = TestClient::connect_as(server->port(), "alice");
    auto bob = TestClient::connect_as(server->port(), "bob");
    alice.join("#dedup");
    bob.join("#dedup");
    const auto first = alice.say("#dedup", "once", 42);
    REQUIRE(first.has_ack());
    CHECK(first.ack().seq() == 1);
    CHECK(first.ack().client_msg_id() == 42);
    CHECK_FALSE(first.ack().duplicate());
    const auto again = alice.say("#dedup", "once", 42);
    REQUIRE(again.has_ack());
    CHECK(again.ack().seq() == 1);
    CHECK(again.ack().client_msg_id() == 42);
    CHECK(again.ack().duplicate());
    // client_msg_id is per sender: bob's 42 is another message.
    const auto other = bob.say("#dedup", "once", 42);
    CHECK(other.ack().seq() == 2);
    CHECK_FALSE(other.ack().duplicate());
    // 0 means no de-duplication.
    CHECK(alice.say("#dedup", "plain").ack().seq() == 3);
    CHECK(alice.say("#dedup", "plain").ack().seq() == 4);

    CHECK(seqs_of(test::messages_until(bob, 4)) == seq_range(1, 4));
    CHECK(seqs_of(test::messages_until(alice, 4)) == seq_range(1, 4));
    CHECK(test::seqs_of(test::history_after(alice, "#dedup", 0, 100)) == seq_range(1, 4));
  }
  server.reset();
  server.emplace(config);
  auto alice = TestClient::connect_as(server->port(), "alice");
  alice.join("#dedup");
  const auto resent = alice.say("#dedup", "once", 42);
  REQUIRE(resent.has_ack());
  CHECK(resent.ack().seq() == 1);
  CHECK(resent.ack().duplicate());
  const auto fresh = alice.say("#dedup", "new", 43);
  CHECK(fresh.ack().seq() == 5);
  CHECK_FALSE(fresh.ack().duplicate());
  const auto all = test::all_history(alice, "#dedup");
  REQUIRE(all.size() == 5);
  CHECK(all[0].text() == "once");
  CHECK(all[0].client_msg_id() == 42);
  CHECK(all[4].text() == "new");
}

TEST_CASE("resume after a restart replays what the client missed, then live traffic") {
  TempDir dir;
  const auto config = test::sqlite_config(dir);
  std::optional<TestServer> server(std::in_place, config);
  {
    auto alice = TestClient::connect_as(server->port(), "alice");
    alice.join("#r");
    test::say_n(alice, "#r", 3);
  }
  server.reset();
  server.emplace(config);
  auto alice = TestClient::connect_as(server->port(), "alice");
  alice.join("#r");
  CHECK(test::say_n(alice, "#r", 3, "after") == seq_range(4, 6));

  auto bob =
      TestClient::connect_as(server->port(), "bob", {test::resume_room("#r", 2)});  // saw 1..2
  CHECK(resumed_join(bob, "#r").last_seq() == 6);
  const auto replay = test::messages_until(bob, 6);
  REQUIRE_FALSE(replay.empty());
  // The server may send a Gap for an older part it does not hold in memory; the rest comes as
  // messages. Together they cover 3..6 exactly, and the Gap's part is in History.
  std::uint64_t next = 3;
  if (replay.front().has_gap()) {
    const auto& gap = replay.front().gap();
    CHECK(gap.room() == "#r");
    CHECK(gap.from_seq() == 3);
    CHECK(test::seqs_of(
              test::history_after(bob, "#r", 2, static_cast<std::uint32_t>(gap.to_seq() - 2))) ==
          seq_range(3, gap.to_seq()));
    next = gap.to_seq() + 1;
  }
  CHECK(seqs_of(replay) == seq_range(next, 6));
  alice.say("#r", "live");
  CHECK(seqs_of(test::messages_until(bob, 7)) == std::vector<std::uint64_t>{7});
}

TEST_CASE("resume from further back than memory holds: a Gap for the older part, then messages") {
  auto config = test::test_config();
  config.history_in_memory = 5;
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#long");
  test::say_n(alice, "#long", 20);

  auto bob = TestClient::connect_as(server.port(), "bob", {test::resume_room("#long", 2)});
  CHECK(resumed_join(bob, "#long").last_seq() == 20);
  const auto replay = test::messages_until(bob, 20);
  REQUIRE_FALSE(replay.empty());
  REQUIRE(replay.front().has_gap());
  const auto gap = replay.front().gap();
  CHECK(gap.room() == "#long");
  CHECK(gap.from_seq() == 3);
  // At most the newest 5 are in memory; those few small ones a user expects to see at once.
  CHECK(gap.to_seq() >= 15);
  CHECK(gap.to_seq() < 20);
  CHECK(seqs_of(replay) == seq_range(gap.to_seq() + 1, 20));
  // The client fills the Gap from History (read from the store).
  const auto filled =
      test::history_after(bob, "#long", 2, static_cast<std::uint32_t>(gap.to_seq() - 2));
  CHECK(test::seqs_of(filled) == seq_range(3, gap.to_seq()));
  CHECK_FALSE(filled.has_gap());
  alice.say("#long", "live");
  CHECK(seqs_of(test::messages_until(bob, 21)) == std::vector<std::uint64_t>{21});
}

TEST_CASE("resume with a sequence in the future replays nothing and live traffic continues") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#ahead");
  test::say_n(alice, "#ahead", 5);

  auto bob = TestClient::connect_as(server.port(), "bob", {test::resume_room("#ahead", 1000)});
  CHECK(resumed_join(bob, "#ahead").last_seq() == 5);
  CHECK(alice.say("#ahead", "live").ack().seq() == 6);
  const auto live = test::messages_until(bob, 6);
  REQUIRE(live.size() == 1);  // no Gap, no replay
  CHECK(live[0].room_message().seq() == 6);
  // The resumed room is joined: bob can talk in it.
  CHECK(bob.say("#ahead", "back").ack().seq() == 7);
}
