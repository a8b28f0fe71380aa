// Cluster mode, what spans the nodes besides messages: the room list, nick changes, typing,
// retention, and the members of a node that died while nobody else followed its rooms.
#include <doctest/doctest.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "cluster_support.hpp"
#include "server_process.hpp"
#include "store_support.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace {

using namespace chat;
using chat::test::history_after;
using chat::test::node_config;
using chat::test::seqs_of;
using chat::test::TestClient;
using chat::test::TestServer;

v1::RoomList list_rooms(TestClient& client, const std::string& prefix = "",
                        std::uint32_t limit = 0) {
  v1::ClientFrame frame;
  frame.mutable_list_rooms()->set_prefix(prefix);
  frame.mutable_list_rooms()->set_limit(limit);
  const auto reply = client.reply_to(client.send(frame));
  REQUIRE(reply.has_value());
  REQUIRE_MESSAGE(reply->has_room_list(), reply->DebugString());
  return reply->room_list();
}

// "name:members" for each room listed, in order.
std::vector<std::string> summary(const v1::RoomList& list) {
  std::vector<std::string> rooms;
  for (const auto& room : list.rooms())
    rooms.push_back(room.room() + ":" + std::to_string(room.member_count()));
  return rooms;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("ListRooms on any node lists every node's rooms with cluster-wide member counts") {
  chat::test::RedisProcess redis;
  std::vector<std::unique_ptr<TestServer>> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(std::make_unique<TestServer>(node_config(redis)));
  auto alice = TestClient::connect_as(nodes[0]->port(), "alice");
  auto bob = TestClient::connect_as(nodes[1]->port(), "bob");
  auto carol = TestClient::connect_as(nodes[2]->port(), "carol");  // in no room at all

  REQUIRE(alice.join("lobby").has_join_reply());
  REQUIRE(bob.join("lobby").has_join_reply());
  REQUIRE(bob.join("Lounge").has_join_reply());
  REQUIRE(bob.say("Lounge", "hi", 1).has_ack());
  v1::ClientFrame topic;
  topic.mutable_set_topic()->set_room("Lounge");
  topic.mutable_set_topic()->set_topic("sofas");
  REQUIRE(bob.reply_to(bob.send(topic))->has_ok());

  // Each node records its members in Redis as they join (once that has reached Redis).
  const auto lists = [&](TestClient& asker, const Names& expected) {
    return chat::test::eventually([&] { return summary(list_rooms(asker)) == expected; });
  };
  REQUIRE(lists(carol, {"lobby:2", "Lounge:1"}));
  const auto all = list_rooms(carol);
  CHECK_FALSE(all.truncated());
  CHECK(all.rooms(1).topic() == "sofas");
  CHECK(all.rooms(1).last_seq() == 1);
  CHECK(all.rooms(0).last_seq() == 0);

  // The prefix matches without regard to case, like room names; the limit truncates.
  CHECK(summary(list_rooms(carol, "LOU")) == Names{"Lounge:1"});
  CHECK(summary(list_rooms(carol, "lo")) == Names{"lobby:2", "Lounge:1"});
  CHECK(list_rooms(carol, "nothing-here").rooms().empty());
  const auto first = list_rooms(carol, "", 1);
  CHECK(summary(first) == Names{"lobby:2"});
  CHECK(first.truncated());
  // An absurd limit is accepted (capped at the server's maximum), a long prefix matches nothing.
  CHECK(list_rooms(carol, "", 1'000'000'000).rooms_size() == 2);
  CHECK(list_rooms(carol, std::string(2000, 'l')).rooms().empty());

  // Leaving shows everywhere; a room without messages or topic goes when its last member does.
  v1::ClientFrame leave;
  leave.mutable_leave()->set_room("lobby");
  REQUIRE(bob.reply_to(bob.send(leave)).has_value());
  CHECK(lists(carol, {"lobby:1", "Lounge:1"}));
  REQUIRE(alice.reply_to(alice.send(leave)).has_value());
  CHECK(lists(carol, {"Lounge:1"}));
  leave.mutable_leave()->set_room("Lounge");
  REQUIRE(bob.reply_to(bob.send(leave)).has_value());
  CHECK(lists(alice, {"Lounge:0"}));  // kept: it has a message and a topic
}

TEST_CASE("ListRooms while Redis is away is refused as UNAVAILABLE, and works once it is back") {
  chat::test::RedisProcess redis;
  TestServer node(node_config(redis));
  auto alice = TestClient::connect_as(node.port(), "alice");
  REQUIRE(alice.join("lobby").has_join_reply());
  redis.kill();
  v1::ClientFrame frame;
  frame.mutable_list_rooms();
  const auto refused = alice.reply_to(alice.send(frame));
  REQUIRE(refused.has_value());
  REQUIRE(refused->has_error());
  CHECK(refused->error().code() == v1::Error::UNAVAILABLE);
  redis.restart();  // empty: the node records its members again when it is back
  CHECK(chat::test::eventually(
      [&] {
        const auto reply = alice.reply_to(alice.send(frame));
        return reply && reply->has_room_list() && reply->room_list().rooms_size() == 1 &&
               reply->room_list().rooms(0).member_count() == 1;
      },
      std::chrono::seconds(20)));
}

TEST_CASE("nick changes and typing on one node show on the others") {
  chat::test::TwoNodeLobby cluster;
  auto& alice = cluster.alice;
  auto& bob = cluster.bob;
  REQUIRE(alice
              .wait_for([](const v1::ServerFrame& f) {
                return f.has_member_joined() && f.member_joined().nick() == "bob";
              })
              .has_value());

  v1::ClientFrame typing;
  typing.mutable_typing()->set_room("lobby");
  bob.send(typing);
  const auto typed = alice.wait_for([](const v1::ServerFrame& f) { return f.has_typing(); });
  REQUIRE(typed.has_value());
  CHECK(typed->typing().nick() == "bob");
  CHECK(typed->typing().room() == "lobby");

  v1::ClientFrame rename;
  rename.mutable_set_nick()->set_nick("robert");
  REQUIRE(bob.reply_to(bob.send(rename))->has_ok());
  const auto renamed =
      alice.wait_for([](const v1::ServerFrame& f) { return f.has_nick_changed(); });
  REQUIRE(renamed.has_value());
  CHECK(renamed->nick_changed().old_nick() == "bob");
  CHECK(renamed->nick_changed().new_nick() == "robert");
  CHECK(renamed->nick_changed().room() == "lobby");

  v1::ClientFrame who;
  who.mutable_who()->set_room("lobby");
  const auto members = alice.reply_to(alice.send(who));
  REQUIRE(members.has_value());
  REQUIRE(members->member_list().nicks_size() == 2);
  CHECK(members->member_list().nicks(1) == "robert");

  // A node loading the room later reads the new nick from Redis.
  TestServer third(node_config(cluster.redis));
  auto carol = TestClient::connect_as(third.port(), "carol");
  REQUIRE(carol.join("lobby").has_join_reply());
  const auto listed = carol.reply_to(carol.send(who));
  REQUIRE(listed.has_value());
  CHECK(listed->member_list().nicks_size() == 3);
  CHECK(listed->member_list().nicks(2) == "robert");

  v1::ClientFrame leave;
  leave.mutable_leave()->set_room("lobby");
  REQUIRE(bob.reply_to(bob.send(leave)).has_value());
  const auto left = alice.wait_for([](const v1::ServerFrame& f) { return f.has_member_left(); });
  REQUIRE(left.has_value());
  CHECK(left->member_left().nick() == "robert");
}

TEST_CASE("retention by count in Redis keeps the newest messages and forgets the others' ids") {
  chat::test::RedisProcess redis;
  auto config = node_config(redis);
  config.retention_messages = 5;
  config.history_in_memory = 2;  // so that de-duplication below is Redis's, not a node's memory
  TestServer first(config);
  TestServer second(config);
  auto alice = TestClient::connect_as(first.port(), "alice");
  REQUIRE(alice.join("lobby").has_join_reply());
  for (std::uint64_t n = 1; n <= 12; ++n) {
    REQUIRE(alice.say("lobby", "m" + std::to_string(n), n).has_ack());
    if (n == 3) {  // an edit of a message that retention drops later
      v1::ClientFrame edit;
      edit.mutable_edit()->set_room("lobby");
      edit.mutable_edit()->set_seq(1);
      edit.mutable_edit()->set_text("m1 fixed");
      REQUIRE(alice.reply_to(alice.send(edit))->has_ok());
      CHECK(redis.query({"HLEN", "chat:r:{lobby}:edits"}) == "1");
    }
  }

  // From the other node, which reads Redis (its memory has the newest two).
  auto bob = TestClient::connect_as(second.port(), "bob");
  REQUIRE(bob.join("lobby").has_join_reply());
  const auto page = history_after(bob, "lobby", 0, 100);
  CHECK(seqs_of(page) == std::vector<std::uint64_t>{8, 9, 10, 11, 12});
  REQUIRE(page.has_gap());
  CHECK(page.gap().from_seq() == 1);
  CHECK(page.gap().to_seq() == 7);
  // The de-duplication and edit records went with their messages.
  CHECK(redis.query({"XLEN", "chat:r:{lobby}:log"}) == "5");
  CHECK(redis.query({"HLEN", "chat:r:{lobby}:ids"}) == "5");
  CHECK(redis.query({"HLEN", "chat:r:{lobby}:edits"}) == "0");
  // A kept message's id still de-duplicates (in Redis: no node keeps seq 9 in memory); a dropped
  // one's is a new message.
  const auto kept = alice.say("lobby", "m9", 9);
  REQUIRE(kept.has_ack());
  CHECK(kept.ack().duplicate());
  CHECK(kept.ack().seq() == 9);
  const auto dropped = alice.say("lobby", "m1", 1);
  REQUIRE(dropped.has_ack());
  CHECK_FALSE(dropped.ack().duplicate());
  CHECK(dropped.ack().seq() == 13);
}

TEST_CASE("retention by age in Redis: old messages go, read or not, and the sequence continues") {
  chat::test::RedisProcess redis;
  auto config = node_config(redis);
  config.retention_seconds = 2;
  TestServer node(config);
  auto alice = TestClient::connect_as(node.port(), "alice");
  REQUIRE(alice.join("lobby").has_join_reply());
  REQUIRE(alice.join("quiet").has_join_reply());
  for (std::uint64_t n = 1; n <= 5; ++n) {
    REQUIRE(alice.say("lobby", "m" + std::to_string(n), n).has_ack());
    REQUIRE(alice.say("quiet", "q" + std::to_string(n), 100 + n).has_ack());
  }
  v1::ClientFrame leave;
  leave.mutable_leave()->set_room("quiet");
  REQUIRE(alice.reply_to(alice.send(leave)).has_value());

  v1::HistoryReply page;
  CHECK(chat::test::eventually(
      [&] {
        page = history_after(alice, "lobby", 0, 100);
        return page.messages().empty();
      },
      std::chrono::seconds(15)));
  REQUIRE(page.has_gap());
  CHECK(page.gap().from_seq() == 1);
  CHECK(page.gap().to_seq() == 5);
  CHECK(alice.say("lobby", "fresh", 6).ack().seq() == 6);
  CHECK(seqs_of(history_after(alice, "lobby", 5, 100)) == std::vector<std::uint64_t>{6});
  // Nobody reads "quiet": the node's sweep empties it all the same, with its ids.
  CHECK(chat::test::eventually(
      [&] {
        return redis.query({"XLEN", "chat:r:{quiet}:log"}) == "0";
      },
      std::chrono::seconds(15)));
  CHECK(redis.query({"HLEN", "chat:r:{quiet}:ids"}) == "0");
}

TEST_CASE("a dead node's members leave the room list even when no other node follows its rooms") {
  chat::test::RedisProcess redis;
  const std::vector<std::string> flags{
      "--engine",       "redis", "--redis",          redis.address(),
      "--heartbeat-ms", "200",   "--node-expiry-ms", "3000"};
  chat::test::ServerProcess doomed(flags);
  TestServer survivor(node_config(redis));

  auto alice = TestClient::connect_as(doomed.port(), "alice");
  REQUIRE(alice.join("solo").has_join_reply());
  REQUIRE(alice.join("fleeting").has_join_reply());
  REQUIRE(alice.say("solo", "anyone?", 1).has_ack());
  auto bob = TestClient::connect_as(survivor.port(), "bob");
  CHECK(summary(list_rooms(bob)) == Names{"fleeting:1", "solo:1"});
  const std::string owner = redis.query({"GET", "chat:nick:{alice}"});
  const std::string doomed_nicks = "chat:node:{" + owner.substr(0, owner.find(':')) + "}:nicks";
  CHECK(redis.query({"SMEMBERS", doomed_nicks}) == "alice");

  doomed.stop(SIGKILL);
  // Its heartbeat expires after 3 s here; the survivor then removes its members from Redis.
  CHECK(chat::test::eventually([&] { return summary(list_rooms(bob)) == Names{"solo:0"}; },
                               std::chrono::seconds(20)));
  CHECK(redis.query({"SCARD", "chat:nodes"}) == "1");  // the survivor alone
  // Its nicks are freed in Redis too, not only taken over one by one by later logins.
  CHECK(redis.query({"EXISTS", "chat:nick:{alice}"}) == "0");
  CHECK(redis.query({"EXISTS", doomed_nicks}) == "0");
  CHECK(redis.query({"EXISTS", "chat:nick:{bob}"}) == "1");
}
