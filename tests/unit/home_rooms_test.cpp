// The rooms of a home shard, without sockets: fan-out to members on several shards, order,
// de-duplication, acknowledgements, the seam between history and live messages, and the
// presence cap, with fake clients and a fake log the test answers.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rooms_support.hpp"

namespace chat::server {
namespace {

using test::FakeClient;
using test::RoomsUnderTest;

bool is_message(const v1::ServerFrame& frame) { return frame.has_room_message(); }
bool is_ack(const v1::ServerFrame& frame) { return frame.has_ack(); }
bool is_error(const v1::ServerFrame& frame) { return frame.has_error(); }
bool is_joined(const v1::ServerFrame& frame) { return frame.has_member_joined(); }
bool is_left(const v1::ServerFrame& frame) { return frame.has_member_left(); }

// "seq:text" for each room message the client got, taken out of its frames.
std::vector<std::string> messages_of(FakeClient& client) {
  std::vector<std::string> lines;
  for (const auto& frame : client.take(is_message)) {
    lines.push_back(std::to_string(frame.room_message().seq()) + ":" + frame.room_message().text());
  }
  return lines;
}

using Lines = std::vector<std::string>;

// alice on shard 0, bob and carol on shard 1, all in "lobby", their join frames cleared.
struct Lobby {
  explicit Lobby(const std::function<void(ServerConfig&)>& configure = {})
      : rooms(2, configure),
        alice(rooms.connect(0, "alice")),
        bob(rooms.connect(1, "bob")),
        carol(rooms.connect(1, "carol")) {
    for (FakeClient* client : {&alice, &bob, &carol}) rooms.join(*client, "lobby");
    for (FakeClient* client : {&alice, &bob, &carol}) client->frames.clear();
  }
  RoomsUnderTest rooms;
  FakeClient& alice;
  FakeClient& bob;
  FakeClient& carol;
};

}  // namespace

TEST_CASE("a message reaches each member on every shard once, after the log stored it") {
  Lobby lobby;
  lobby.rooms.say(lobby.alice, "lobby", "hi", 7);
  CHECK(lobby.rooms.log.appends.size() == 1);
  for (FakeClient* client : {&lobby.alice, &lobby.bob, &lobby.carol}) {
    CHECK(client->frames.empty());  // nothing before it is durable
  }
  lobby.rooms.store_next();
  for (FakeClient* client : {&lobby.alice, &lobby.bob, &lobby.carol}) {
    CHECK(messages_of(*client) == Lines{"1:hi"});
  }
  const auto acks = lobby.alice.take(is_ack);
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].request_id() == 2);
  CHECK(acks[0].ack().seq() == 1);
  CHECK(acks[0].ack().client_msg_id() == 7);
  CHECK_FALSE(acks[0].ack().duplicate());
  CHECK(lobby.bob.take(is_ack).empty());
}

TEST_CASE("messages go out in the order the log gave them") {
  Lobby lobby;
  lobby.rooms.say(lobby.alice, "lobby", "a");
  lobby.rooms.say(lobby.bob, "lobby", "b");
  lobby.rooms.say(lobby.alice, "lobby", "c");
  for (int i = 0; i < 3; ++i) lobby.rooms.store_next();
  CHECK(messages_of(lobby.carol) == Lines{"1:a", "2:b", "3:c"});
  CHECK(messages_of(lobby.alice) == Lines{"1:a", "2:b", "3:c"});
}

TEST_CASE("a resend while the first copy is in flight is stored once and acknowledged twice") {
  Lobby lobby;
  lobby.rooms.say(lobby.alice, "lobby", "once", 5, 2);
  lobby.rooms.say(lobby.alice, "lobby", "once", 5, 3);
  CHECK(lobby.rooms.log.appends.size() == 1);
  lobby.rooms.store_next();
  CHECK(messages_of(lobby.bob) == Lines{"1:once"});
  auto acks = lobby.alice.take(is_ack);
  REQUIRE(acks.size() == 2);
  CHECK(acks[0].request_id() == 2);
  CHECK_FALSE(acks[0].ack().duplicate());
  CHECK(acks[1].request_id() == 3);
  CHECK(acks[1].ack().duplicate());
  CHECK(acks[1].ack().seq() == 1);

  // Once stored, a resend is answered from memory without asking the log.
  lobby.rooms.say(lobby.alice, "lobby", "once", 5, 4);
  CHECK(lobby.rooms.log.appends.empty());
  acks = lobby.alice.take(is_ack);
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].ack().duplicate());
  CHECK(acks[0].ack().seq() == 1);
  CHECK(messages_of(lobby.bob).empty());
}

TEST_CASE("a join shows what is settled as history and what is in flight live, never both") {
  RoomsUnderTest rooms;
  FakeClient& alice = rooms.connect(0, "alice");
  FakeClient& bob = rooms.connect(1, "bob");
  rooms.join(alice, "lobby");
  rooms.say(alice, "lobby", "settled");
  rooms.store_next();
  rooms.say(alice, "lobby", "in flight");
  rooms.join(bob, "lobby", /*history=*/10);
  const auto replies = bob.take([](const v1::ServerFrame& f) { return f.has_join_reply(); });
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].join_reply().last_seq() == 1);
  CHECK(replies[0].join_reply().member_count() == 2);
  CHECK(messages_of(bob) == Lines{"1:settled"});
  rooms.store_next();
  CHECK(messages_of(bob) == Lines{"2:in flight"});
}

TEST_CASE("a resume gets what was missed after its sequence, one from the future gets nothing") {
  RoomsUnderTest rooms;
  FakeClient& alice = rooms.connect(0, "alice");
  rooms.join(alice, "lobby");
  for (const char* text : {"one", "two", "three"}) {
    rooms.say(alice, "lobby", text);
    rooms.store_next();
  }
  FakeClient& back = rooms.connect(1, "back");
  rooms.join(back, "lobby", 0, /*resume_after=*/1);
  CHECK(messages_of(back) == Lines{"2:two", "3:three"});
  FakeClient& ahead = rooms.connect(1, "ahead");
  rooms.join(ahead, "lobby", 0, /*resume_after=*/99);
  CHECK(messages_of(ahead).empty());
  CHECK(ahead.take(is_error).empty());
}

TEST_CASE("joins and leaves are announced up to max_presence_members, not above") {
  RoomsUnderTest rooms(2, [](ServerConfig& config) { config.max_presence_members = 2; });
  FakeClient& alice = rooms.connect(0, "alice");
  FakeClient& bob = rooms.connect(1, "bob");
  FakeClient& carol = rooms.connect(1, "carol");
  rooms.join(alice, "lobby");
  alice.frames.clear();  // her own join
  rooms.join(bob, "lobby");
  const auto joined = alice.take(is_joined);
  REQUIRE(joined.size() == 1);
  CHECK(joined[0].member_joined().nick() == "bob");
  bob.frames.clear();
  rooms.join(carol, "lobby");  // three members: above the cap
  CHECK(alice.take(is_joined).empty());
  CHECK(bob.take(is_joined).empty());
  rooms.leave(carol, "lobby");  // two again: announced
  CHECK(alice.take(is_left).size() == 1);
  CHECK(bob.take(is_left).size() == 1);
}

TEST_CASE("a failed append is an error to the sender and to the resend waiting on it") {
  Lobby lobby;
  lobby.rooms.say(lobby.alice, "lobby", "lost", 3, 2);
  lobby.rooms.say(lobby.alice, "lobby", "lost", 3, 3);
  lobby.rooms.log.fail_next("disk full");
  lobby.rooms.run();
  const auto errors = lobby.alice.take(is_error);
  REQUIRE(errors.size() == 2);
  for (const auto& error : errors) CHECK(error.error().code() == v1::Error::INTERNAL);
  CHECK(lobby.alice.take(is_ack).empty());
  CHECK(messages_of(lobby.bob).empty());
  // The next message takes the sequence the failed one did not use.
  lobby.rooms.say(lobby.alice, "lobby", "kept");
  lobby.rooms.store_next();
  CHECK(messages_of(lobby.bob) == Lines{"1:kept"});
}

TEST_CASE("a full room refuses a join, a non-member cannot send") {
  RoomsUnderTest rooms(1, [](ServerConfig& config) { config.max_members_per_room = 1; });
  FakeClient& alice = rooms.connect(0, "alice");
  FakeClient& bob = rooms.connect(0, "bob");
  rooms.join(alice, "lobby");
  rooms.join(bob, "lobby");
  auto errors = bob.take(is_error);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].error().code() == v1::Error::ROOM_FULL);
  rooms.say(bob, "lobby", "let me in");
  errors = bob.take(is_error);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].error().code() == v1::Error::NOT_IN_ROOM);
  CHECK(rooms.log.appends.empty());
}

}  // namespace chat::server
