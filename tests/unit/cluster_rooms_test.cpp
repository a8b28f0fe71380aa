// One node's rooms in cluster mode, without Redis: a fake bus whose loads and channel the test
// plays, a fake log that holds the room's stream. Loading at the first join, Acks after the
// message came back on the channel, holes read from the stream, other nodes' members.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "presence_of.hpp"
#include "rooms_support.hpp"

namespace chat::server {
namespace {

using test::FakeClient;
using test::RoomsUnderTest;

v1::RoomMessage message(std::uint64_t seq, const std::string& text,
                        std::uint64_t client_msg_id = 0) {
  v1::RoomMessage out;
  out.set_room("lobby");
  out.set_seq(seq);
  out.set_from("alice");
  out.set_text(text);
  out.set_client_msg_id(client_msg_id);
  return out;
}

LoadedRoom loaded(std::uint64_t last_seq, std::vector<v1::RoomMessage> recent = {},
                  RoomMembers members = {}) {
  return {.ok = true,
          .error = {},
          .name = "lobby",
          .topic = {},
          .last_seq = last_seq,
          .recent = std::move(recent),
          .members = std::move(members)};
}

// "seq:text" for each room message the client got, and "gap:from-to" for each Gap, in order.
std::vector<std::string> shown(FakeClient& client) {
  std::vector<std::string> lines;
  for (const auto& frame :
       client.take([](const v1::ServerFrame& f) { return f.has_room_message() || f.has_gap(); })) {
    std::string line;
    if (frame.has_gap()) {
      line = "gap:";
      line += std::to_string(frame.gap().from_seq());
      line += '-';
      line += std::to_string(frame.gap().to_seq());
    } else {
      line = std::to_string(frame.room_message().seq());
      line += ':';
      line += frame.room_message().text();
    }
    lines.push_back(line);
  }
  return lines;
}

using Lines = std::vector<std::string>;

// alice on shard 0 and bob on shard 1 joined "lobby", which the cluster had at last_seq.
struct ClusterLobby {
  explicit ClusterLobby(std::uint64_t last_seq = 0, RoomMembers members = {})
      : rooms(2, {}, RoomsUnderTest::Cluster::yes),
        alice(rooms.connect(0, "alice")),
        bob(rooms.connect(1, "bob")) {
    rooms.join(alice, "lobby");
    rooms.join(bob, "lobby");
    rooms.load_next(loaded(last_seq, {}, std::move(members)));
    alice.frames.clear();
    bob.frames.clear();
  }
  RoomsUnderTest rooms;
  FakeClient& alice;
  FakeClient& bob;
};

}  // namespace

TEST_CASE(
    "a cluster room is loaded at its first join, and what its channel carried meanwhile "
    "is shown once, in order") {
  RoomsUnderTest rooms(2, {}, RoomsUnderTest::Cluster::yes);
  FakeClient& alice = rooms.connect(1, "alice");
  rooms.join(alice, "lobby", /*history=*/10);
  CHECK(alice.frames.empty());  // waits for the load
  CHECK(rooms.bus.subscriptions.contains("lobby"));
  REQUIRE(rooms.bus.loads.size() == 1);

  rooms.on_channel("lobby", message(4, "four"));  // published between subscription and read
  rooms.on_channel("lobby", message(3, "three"));
  rooms.load_next(loaded(3, {message(1, "one"), message(2, "two"), message(3, "three")}));

  const auto replies = alice.take([](const v1::ServerFrame& f) { return f.has_join_reply(); });
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].join_reply().last_seq() == 4);
  CHECK(shown(alice) == Lines{"1:one", "2:two", "3:three", "4:four"});
}

TEST_CASE("a join while the cluster's store is away is refused at once") {
  RoomsUnderTest rooms(2, {}, RoomsUnderTest::Cluster::yes);
  FakeClient& alice = rooms.connect(0, "alice");
  rooms.bus.up = false;
  rooms.join(alice, "lobby");
  const auto errors = alice.take([](const v1::ServerFrame& f) { return f.has_error(); });
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].error().code() == v1::Error::UNAVAILABLE);
  CHECK(rooms.bus.loads.empty());
  CHECK(rooms.rooms_kept("lobby") == 0);  // not kept half-made

  rooms.bus.up = true;
  rooms.join(alice, "lobby");
  CHECK(rooms.bus.loads.size() == 1);
}

TEST_CASE(
    "an Ack waits until the message came back on the channel, and members get it from there") {
  ClusterLobby lobby;
  lobby.rooms.say(lobby.alice, "lobby", "hi", 7);
  lobby.rooms.store_next();  // Redis took it as sequence 1
  CHECK(lobby.alice.frames.empty());
  CHECK(lobby.bob.frames.empty());

  lobby.rooms.on_channel("lobby", message(1, "hi", 7));
  CHECK(shown(lobby.bob) == Lines{"1:hi"});
  CHECK(shown(lobby.alice) == Lines{"1:hi"});
  const auto acks = lobby.alice.take([](const v1::ServerFrame& f) { return f.has_ack(); });
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].ack().seq() == 1);
  CHECK(acks[0].ack().client_msg_id() == 7);

  lobby.rooms.on_channel("lobby", message(1, "hi", 7));  // the same again: dropped
  CHECK(lobby.bob.frames.empty());
}

TEST_CASE(
    "a resend while the first copy is on its way waits for it, even once the channel "
    "showed the message") {
  ClusterLobby lobby;
  lobby.rooms.say(lobby.alice, "lobby", "hi", 7, /*request_id=*/10);
  lobby.rooms.on_channel("lobby", message(1, "hi", 7));  // the channel ahead of Redis's reply
  CHECK(shown(lobby.bob) == Lines{"1:hi"});
  lobby.rooms.say(lobby.alice, "lobby", "hi", 7, /*request_id=*/11);  // sent again
  CHECK(lobby.alice.take([](const v1::ServerFrame& f) { return f.has_ack(); }).empty());
  CHECK(lobby.rooms.log.appends.size() == 1);

  lobby.rooms.store_next();
  const auto acks = lobby.alice.take([](const v1::ServerFrame& f) { return f.has_ack(); });
  REQUIRE(acks.size() == 2);
  CHECK(acks[0].request_id() == 10);
  CHECK_FALSE(acks[0].ack().duplicate());
  CHECK(acks[1].request_id() == 11);
  CHECK(acks[1].ack().duplicate());
  CHECK(acks[1].ack().seq() == 1);
}

TEST_CASE("a hole in the channel is read from the room's stream before what came after it") {
  ClusterLobby lobby(3);
  SUBCASE("the stream has it") {
    lobby.rooms.log.stream = {message(4, "four"), message(5, "five")};
    lobby.rooms.on_channel("lobby", message(5, "five"));
    CHECK(lobby.rooms.log.history_reads == 1);
    CHECK(shown(lobby.bob) == Lines{"4:four", "5:five"});
    lobby.rooms.on_channel("lobby", message(4, "four"));  // late: already shown
    CHECK(lobby.bob.frames.empty());
  }
  SUBCASE("the stream no longer has it: a Gap, then what is ahead") {
    lobby.rooms.log.stream = {message(5, "five")};
    lobby.rooms.on_channel("lobby", message(5, "five"));
    CHECK(shown(lobby.bob) == Lines{"gap:4-4", "5:five"});
  }
}

TEST_CASE("members on other nodes are shown as they come and go, and counted") {
  ClusterLobby lobby(0, {{"n2:9", "carol"}});
  CHECK(lobby.rooms.presence.watched.contains("n2"));
  lobby.rooms.who(lobby.alice, "lobby");
  auto lists = lobby.alice.take([](const v1::ServerFrame& f) { return f.has_member_list(); });
  REQUIRE(lists.size() == 1);
  CHECK(lists[0].member_list().member_count() == 3);

  lobby.rooms.on_presence("lobby", test::presence_of(Presence::Change::joined, "n2:10", "dave"));
  auto joined = lobby.bob.take([](const v1::ServerFrame& f) { return f.has_member_joined(); });
  REQUIRE(joined.size() == 1);
  CHECK(joined[0].member_joined().nick() == "dave");
  lobby.rooms.on_presence("lobby", test::presence_of(Presence::Change::left, "n2:9", "carol"));
  auto left = lobby.bob.take([](const v1::ServerFrame& f) { return f.has_member_left(); });
  REQUIRE(left.size() == 1);
  CHECK(left[0].member_left().nick() == "carol");

  lobby.rooms.who(lobby.alice, "lobby");
  lists = lobby.alice.take([](const v1::ServerFrame& f) { return f.has_member_list(); });
  REQUIRE(lists.size() == 1);
  CHECK(lists[0].member_list().member_count() == 3);  // alice, bob, dave
}

TEST_CASE("a node tells the cluster who joins and leaves, and stops following an empty room") {
  ClusterLobby lobby;
  using Change = Presence::Change;
  CHECK(lobby.rooms.presence.announced ==
        std::vector<std::pair<std::uint64_t, Change>>{{1, Change::joined}, {2, Change::joined}});
  lobby.rooms.leave(lobby.alice, "lobby");
  CHECK(lobby.rooms.bus.subscriptions.contains("lobby"));
  CHECK(lobby.rooms.presence.last_here_from.empty());
  lobby.rooms.leave(lobby.bob, "lobby");
  CHECK_FALSE(lobby.rooms.bus.subscriptions.contains("lobby"));
  CHECK(lobby.rooms.presence.announced.size() == 4);
  CHECK(lobby.rooms.presence.last_here_from == std::vector<std::uint64_t>{2});
  CHECK(lobby.rooms.rooms_kept("lobby") == 0);
}

}  // namespace chat::server
