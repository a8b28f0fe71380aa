// Cluster mode: several chat-server nodes (in this process) on one real redis-server. Redis gives
// every room message its sequence; every node fans out what its channel carries.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>

#include "cluster_support.hpp"
#include "store_support.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace {

using namespace chat;
using chat::test::node_config;
using chat::test::TestClient;
using chat::test::TestServer;

v1::ClientFrame send_frame(const std::string& room, const std::string& text,
                           std::uint64_t client_msg_id) {
  v1::ClientFrame frame;
  frame.mutable_send()->set_room(room);
  frame.mutable_send()->set_text(text);
  frame.mutable_send()->set_client_msg_id(client_msg_id);
  return frame;
}

// Reads room messages of `room` until `count` arrived; returns (seq -> "from:text").
std::map<std::uint64_t, std::string> collect(TestClient& client, const std::string& room,
                                             std::size_t count) {
  std::map<std::uint64_t, std::string> got;
  std::uint64_t last = 0;
  while (got.size() < count) {
    auto frame = client.wait_for([&](const v1::ServerFrame& f) {
      return f.has_room_message() && f.room_message().room() == room;
    });
    REQUIRE_MESSAGE(frame.has_value(), "only " << got.size() << " of " << count << " arrived");
    const auto& message = frame->room_message();
    CHECK_MESSAGE(message.seq() > last, "out of order or duplicate: " << message.seq());
    last = message.seq();
    got[message.seq()] = message.from() + ":" + message.text();
  }
  client.skipped().clear();
  return got;
}

}  // namespace

TEST_CASE("three nodes share a room: every member gets every message once, in one order") {
  chat::test::RedisProcess redis;
  std::vector<std::unique_ptr<TestServer>> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(std::make_unique<TestServer>(node_config(redis)));

  std::vector<TestClient> clients;
  const std::vector<std::string> nicks{"alice", "bob", "carol", "dave", "erin", "frank"};
  for (std::size_t i = 0; i < nicks.size(); ++i) {
    clients.push_back(TestClient::connect_as(nodes[i % 3]->port(), nicks[i]));
    const auto reply = clients.back().join("lobby");
    REQUIRE(reply.has_join_reply());
  }
  // Everyone sends at once, on three nodes.
  constexpr int per_client = 15;
  for (int n = 0; n < per_client; ++n) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      clients[i].send(send_frame("lobby", "m" + std::to_string(n), 1000 * (i + 1) + n));
    }
  }
  const std::size_t total = per_client * clients.size();
  std::map<std::uint64_t, std::string> reference;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    CAPTURE(nicks[i]);
    const auto got = collect(clients[i], "lobby", total);
    CHECK(got.begin()->first == 1);
    CHECK(got.rbegin()->first == total);  // no gaps: 1..total, each once
    if (i == 0) {
      reference = got;
    } else {
      CHECK(got == reference);  // one order for everyone, on every node
    }
  }
  std::set<std::string> texts;
  for (const auto& [seq, text] : reference) texts.insert(text);
  CHECK(texts.size() == total);
}

TEST_CASE("history and resume through another node than the one a client used") {
  chat::test::RedisProcess redis;
  TestServer first(node_config(redis));
  TestServer second(node_config(redis));

  auto alice = TestClient::connect_as(first.port(), "alice");
  REQUIRE(alice.join("lobby").has_join_reply());
  for (int n = 1; n <= 10; ++n) {
    const auto ack =
        alice.say("lobby", "before " + std::to_string(n), static_cast<std::uint64_t>(n));
    REQUIRE(ack.has_ack());
    CHECK(ack.ack().seq() == static_cast<std::uint64_t>(n));
  }
  // bob joins on the other node: the recent messages are there, in order.
  auto bob = TestClient::connect_as(second.port(), "bob");
  v1::ClientFrame join;
  join.mutable_join()->set_room("lobby");
  join.mutable_join()->set_history(5);
  const auto joined = bob.reply_to(bob.send(join));
  REQUIRE(joined.has_value());
  REQUIRE(joined->has_join_reply());
  CHECK(joined->join_reply().last_seq() == 10);
  const auto recent = collect(bob, "lobby", 5);
  CHECK(recent.begin()->first == 6);
  CHECK(recent.rbegin()->second == "alice:before 10");

  // A History request on the other node reads the same stream.
  v1::ClientFrame history;
  history.mutable_history()->set_room("lobby");
  history.mutable_history()->set_before_seq(6);
  history.mutable_history()->set_limit(100);
  const auto page = bob.reply_to(bob.send(history));
  REQUIRE(page.has_value());
  REQUIRE(page->has_history_reply());
  REQUIRE(page->history_reply().messages_size() == 5);
  CHECK(page->history_reply().messages(0).seq() == 1);
  CHECK(page->history_reply().messages(0).text() == "before 1");

  // alice leaves the first node having seen 10, more is said, and she resumes on the second.
  alice.shutdown_write();
  alice.wait_closed();
  for (int n = 11; n <= 14; ++n) {
    REQUIRE(bob.say("lobby", "while away " + std::to_string(n), static_cast<std::uint64_t>(n))
                .has_ack());
  }
  v1::ResumeRoom resume;
  resume.set_room("lobby");
  resume.set_last_seen_seq(10);
  auto back = TestClient::connect_as(second.port(), "alice", {resume});
  const auto missed = collect(back, "lobby", 4);
  CHECK(missed.begin()->first == 11);
  CHECK(missed.rbegin()->first == 14);
  CHECK(missed.rbegin()->second == "bob:while away 14");

  // alice's client_msg_id 3, sent on the first node, resent on the second: not stored twice.
  const auto again = back.say("lobby", "before 3", 3);
  REQUIRE(again.has_ack());
  CHECK(again.ack().duplicate());
  CHECK(again.ack().seq() == 3);
  const auto fresh = back.say("lobby", "new", 99);
  REQUIRE(fresh.has_ack());
  CHECK_FALSE(fresh.ack().duplicate());
  CHECK(fresh.ack().seq() == 15);
}

TEST_CASE("presence spans the nodes: joins, leaves, Who and member counts") {
  chat::test::RedisProcess redis;
  TestServer first(node_config(redis));
  TestServer second(node_config(redis));

  auto alice = TestClient::connect_as(first.port(), "alice");
  REQUIRE(alice.join("lobby").has_join_reply());
  // Her node records her in Redis after it answered her (a busy machine can make that late): bob's
  // node counts what Redis has when it loads the room.
  REQUIRE(chat::test::eventually([&] {
    return redis.query({"HLEN", "chat:r:{lobby}:members"}) == "1";
  }));
  auto bob = TestClient::connect_as(second.port(), "bob");
  const auto bob_joined = bob.join("lobby");
  REQUIRE(bob_joined.has_join_reply());
  CHECK(bob_joined.join_reply().member_count() == 2);  // alice is on the other node

  const auto seen = alice.wait_for([](const v1::ServerFrame& f) {
    return f.has_member_joined() && f.member_joined().nick() == "bob";
  });
  REQUIRE(seen.has_value());

  v1::ClientFrame who;
  who.mutable_who()->set_room("lobby");
  const auto list = alice.reply_to(alice.send(who));
  REQUIRE(list.has_value());
  REQUIRE(list->has_member_list());
  REQUIRE(list->member_list().nicks_size() == 2);
  CHECK(list->member_list().nicks(0) == "alice");
  CHECK(list->member_list().nicks(1) == "bob");

  v1::ClientFrame leave;
  leave.mutable_leave()->set_room("lobby");
  REQUIRE(bob.reply_to(bob.send(leave)).has_value());
  const auto left = alice.wait_for([](const v1::ServerFrame& f) {
    return f.has_member_left() && f.member_left().nick() == "bob";
  });
  REQUIRE(left.has_value());
  const auto after = alice.reply_to(alice.send(who));
  REQUIRE(after.has_value());
  CHECK(after->member_list().nicks_size() == 1);
}

TEST_CASE("a member's account and real name, and a quit, reach the members on other nodes") {
  chat::test::TwoNodeLobby cluster;
  auto& alice = cluster.alice;
  auto& bob = cluster.bob;  // a guest on the second node
  const auto bob_joined = alice.wait_for([](const v1::ServerFrame& f) {
    return f.has_member_joined() && f.member_joined().nick() == "bob";
  });
  REQUIRE(bob_joined.has_value());
  CHECK_FALSE(bob_joined->member_joined().account());
  CHECK(bob_joined->member_joined().real_name().empty());

  {
    auto owner = TestClient::connect_as(cluster.second.port(), "robin");
    REQUIRE(test::ask(owner, test::make_request([](v1::ClientFrame& f) {
                        f.mutable_register_()->set_password("sherwood forest");
                      }))
                .has_ok());
  }  // the nick is free again once the owner is gone
  TestClient robin(cluster.second.port());
  auto hello = test::hello_with("robin", "sherwood forest");
  hello.mutable_hello()->set_real_name("Robin of Locksley");
  REQUIRE(test::eventually([&] { return test::ask(robin, hello).has_welcome(); }));
  REQUIRE(robin.join("lobby").has_join_reply());
  const auto joined = alice.wait_for([](const v1::ServerFrame& f) {
    return f.has_member_joined() && f.member_joined().nick() == "robin";
  });
  REQUIRE(joined.has_value());
  CHECK(joined->member_joined().account());
  CHECK(joined->member_joined().real_name() == "Robin of Locksley");

  v1::ClientFrame part;
  part.mutable_leave()->set_room("lobby");
  part.mutable_leave()->set_reason("to the forest");
  REQUIRE(bob.reply_to(bob.send(part)).has_value());
  const auto parted = alice.wait_for([](const v1::ServerFrame& f) {
    return f.has_member_left() && f.member_left().nick() == "bob";
  });
  REQUIRE(parted.has_value());
  CHECK_FALSE(parted->member_left().quit());
  CHECK(parted->member_left().reason() == "to the forest");

  robin.shutdown_write();  // the connection ends: a quit, not a Leave
  const auto quit = alice.wait_for([](const v1::ServerFrame& f) {
    return f.has_member_left() && f.member_left().nick() == "robin";
  });
  REQUIRE(quit.has_value());
  CHECK(quit->member_left().quit());
}

TEST_CASE("topic changes, edits and deletes made on one node show on the others") {
  chat::test::TwoNodeLobby cluster;
  auto& redis = cluster.redis;
  auto& alice = cluster.alice;
  auto& bob = cluster.bob;
  const auto sent = alice.say("lobby", "typo", 1);
  REQUIRE(sent.has_ack());
  const std::uint64_t seq = sent.ack().seq();

  v1::ClientFrame topic;
  topic.mutable_set_topic()->set_room("lobby");
  topic.mutable_set_topic()->set_topic("welcome");
  REQUIRE(alice.reply_to(alice.send(topic)).has_value());
  const auto changed = bob.wait_for([](const v1::ServerFrame& f) { return f.has_topic_changed(); });
  REQUIRE(changed.has_value());
  CHECK(changed->topic_changed().topic() == "welcome");

  v1::ClientFrame edit;
  edit.mutable_edit()->set_room("lobby");
  edit.mutable_edit()->set_seq(seq);
  edit.mutable_edit()->set_text("fixed");
  REQUIRE(alice.reply_to(alice.send(edit))->has_ok());
  const auto edited = bob.wait_for([](const v1::ServerFrame& f) { return f.has_message_edited(); });
  REQUIRE(edited.has_value());
  CHECK(edited->message_edited().text() == "fixed");

  // A third node loading the room now reads the topic and the edit from Redis.
  TestServer third(node_config(redis));
  auto carol = TestClient::connect_as(third.port(), "carol");
  v1::ClientFrame join;
  join.mutable_join()->set_room("lobby");
  join.mutable_join()->set_history(10);
  const auto joined = carol.reply_to(carol.send(join));
  REQUIRE(joined.has_value());
  CHECK(joined->join_reply().topic() == "welcome");
  const auto replayed =
      carol.wait_for([](const v1::ServerFrame& f) { return f.has_room_message(); });
  REQUIRE(replayed.has_value());
  CHECK(replayed->room_message().text() == "fixed");
  CHECK(replayed->room_message().edited());

  v1::ClientFrame remove;
  remove.mutable_delete_()->set_room("lobby");
  remove.mutable_delete_()->set_seq(seq);
  REQUIRE(alice.reply_to(alice.send(remove))->has_ok());
  CHECK(bob.wait_for([](const v1::ServerFrame& f) { return f.has_message_deleted(); }).has_value());
  CHECK(
      carol.wait_for([](const v1::ServerFrame& f) { return f.has_message_deleted(); }).has_value());
}

TEST_CASE("a nick is unique across the cluster, at login and on a nick change") {
  chat::test::RedisProcess redis;
  TestServer first(node_config(redis));
  TestServer second(node_config(redis));
  auto alice = TestClient::connect_as(first.port(), "alice");

  TestClient copycat(second.port());
  const auto refused = copycat.reply_to(copycat.send(chat::test::hello_frame("Alice")));
  REQUIRE(refused.has_value());
  REQUIRE(refused->has_error());
  CHECK(refused->error().code() == v1::Error::NICK_IN_USE);

  auto bob = TestClient::connect_as(second.port(), "bob");
  v1::ClientFrame rename;
  rename.mutable_set_nick()->set_nick("alice");
  const auto taken = bob.reply_to(bob.send(rename));
  REQUIRE(taken.has_value());
  REQUIRE(taken->has_error());
  CHECK(taken->error().code() == v1::Error::NICK_IN_USE);
  rename.mutable_set_nick()->set_nick("robert");
  CHECK(bob.reply_to(bob.send(rename))->has_ok());

  // Given up when its session ends, and "bob" when bob became robert.
  alice.shutdown_write();
  alice.wait_closed();
  CHECK(chat::test::eventually([&] {
    TestClient again(second.port());
    const auto reply = again.reply_to(again.send(chat::test::hello_frame("alice")));
    return reply && reply->has_welcome();
  }));
  CHECK_NOTHROW(TestClient::connect_as(first.port(), "bob"));
}

TEST_CASE("a nick change refused on its own node leaves the nick's cluster claim with its holder") {
  using chat::test::ask;
  using chat::test::error_code;
  chat::test::RedisProcess redis;
  TestServer first(node_config(redis));
  TestServer second(node_config(redis));
  auto bob = TestClient::connect_as(first.port(), "bob");
  auto carol = TestClient::connect_as(first.port(), "carol");
  v1::ClientFrame rename;
  rename.mutable_set_nick()->set_nick("Bob");
  CHECK(error_code(ask(carol, rename)) == v1::Error::NICK_IN_USE);
  TestClient copycat(second.port());  // still bob's across the cluster
  CHECK(error_code(ask(copycat, chat::test::hello_frame("bob"))) == v1::Error::NICK_IN_USE);
}

TEST_CASE("topics changed at once on two nodes end the same on every node and in Redis") {
  chat::test::TwoNodeLobby cluster;
  // The last of the two TopicChanged a client gets, some maybe before its own OK.
  auto last_topic_seen = [](TestClient& client) {
    std::vector<std::string> topics;
    for (const auto& frame : client.skipped()) {
      if (frame.has_topic_changed()) topics.push_back(frame.topic_changed().topic());
    }
    client.skipped().clear();
    while (topics.size() < 2) {
      const auto changed =
          client.wait_for([](const v1::ServerFrame& f) { return f.has_topic_changed(); });
      REQUIRE(changed.has_value());
      topics.push_back(changed->topic_changed().topic());
    }
    client.skipped().clear();
    return topics.back();
  };
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    v1::ClientFrame from_alice;
    from_alice.mutable_set_topic()->set_room("lobby");
    from_alice.mutable_set_topic()->set_topic("alice " + std::to_string(round));
    v1::ClientFrame from_bob = from_alice;
    from_bob.mutable_set_topic()->set_topic("bob " + std::to_string(round));
    const auto alice_asked = cluster.alice.send(from_alice);
    const auto bob_asked = cluster.bob.send(from_bob);
    REQUIRE(cluster.alice.reply_to(alice_asked).has_value());
    REQUIRE(cluster.bob.reply_to(bob_asked).has_value());
    const std::string kept = cluster.redis.query({"GET", "chat:r:{lobby}:topic"});
    // Each saw both changes, the one Redis kept last.
    CHECK(last_topic_seen(cluster.alice) == kept);
    CHECK(last_topic_seen(cluster.bob) == kept);
  }
}
