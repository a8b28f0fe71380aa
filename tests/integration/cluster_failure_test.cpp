// Cluster mode when things fail: Redis restarted during traffic, and a node killed with SIGKILL.
#include <doctest/doctest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <csignal>
#include <future>
#include <map>
#include <thread>

#include "cluster_support.hpp"
#include "http_get.hpp"
#include "server_process.hpp"
#include "store_support.hpp"
#include "tcp_proxy.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace {

using namespace chat;
using chat::test::node_config;
using chat::test::TestClient;
using chat::test::TestServer;

// The room's whole history as one node tells it: seq -> text.
std::map<std::uint64_t, std::string> history_of(TestClient& client, const std::string& room) {
  std::map<std::uint64_t, std::string> all;
  std::uint64_t after = 0;
  for (;;) {
    v1::ClientFrame frame;
    frame.mutable_history()->set_room(room);
    frame.mutable_history()->set_after_seq(after);
    frame.mutable_history()->set_limit(100);
    const auto reply = client.reply_to(client.send(frame));
    REQUIRE(reply.has_value());
    REQUIRE(reply->has_history_reply());
    for (const auto& message : reply->history_reply().messages()) {
      all[message.seq()] = message.text();
      after = message.seq();
    }
    if (!reply->history_reply().has_more()) return all;
  }
}

// Sends until the node acknowledges one (it reconnects to Redis with backoff): that Ack.
v1::Ack say_once_back(TestClient& client, const std::string& text, std::uint64_t& next_id) {
  v1::ServerFrame back;
  CHECK(chat::test::eventually(
      [&] {
        back = client.say("lobby", text, next_id++);
        return back.has_ack();
      },
      std::chrono::seconds(20)));
  REQUIRE(back.has_ack());
  return back.ack();
}

// A TCP proxy to Redis on a thread of its own, which the test drives with run().
struct ProxyOnThread {
  explicit ProxyOnThread(std::uint16_t redis_port)
      : proxy(io, redis_port), thread([this] { io.run(); }) {}
  ~ProxyOnThread() {
    work.reset();
    io.stop();
    thread.join();
  }
  void run(const std::function<void()>& action) {
    std::promise<void> done;
    asio::post(io, [&] {
      action();
      done.set_value();
    });
    done.get_future().wait();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  chat::test::TcpProxy proxy;
  std::thread thread;
};

// Two nodes in "lobby" (alice on the first, bob on the second), where the test can cut the second
// node off Redis (its connections go through a proxy) while the room goes on.
struct CutOffNode {
  explicit CutOffNode(const std::function<void(server::ServerConfig&)>& configure)
      : proxy(redis.port()),
        first(config_for(configure, redis.port())),
        second(config_for(configure, proxy.proxy.port())),
        alice(TestClient::connect_as(first.port(), "alice")),
        bob(TestClient::connect_as(second.port(), "bob")) {
    REQUIRE(alice.join("lobby").has_join_reply());
    REQUIRE(bob.join("lobby").has_join_reply());
    for (int n = 1; n <= 5; ++n) REQUIRE(alice.say("lobby", "early", next_id++).has_ack());
    REQUIRE(bob.wait_for([](const v1::ServerFrame& f) {
                 return f.has_room_message() && f.room_message().seq() == 5;
               })
                .has_value());
  }
  server::ServerConfig config_for(const std::function<void(server::ServerConfig&)>& configure,
                                  std::uint16_t redis_port) {
    auto config = node_config(redis);
    configure(config);
    config.redis = "127.0.0.1:" + std::to_string(redis_port);
    return config;
  }
  // Returns once bob's node knows it lost Redis.
  void cut() {
    proxy.run([&] {
      proxy.proxy.refuse_new = true;
      proxy.proxy.drop_all();
    });
    CHECK(chat::test::eventually([&] { return bob.say("lobby", "lost", next_id++).has_error(); }));
    bob.skipped().clear();
  }
  void restore() {
    proxy.run([&] { proxy.proxy.refuse_new = false; });
  }
  struct Seen {
    std::vector<std::uint64_t> seqs;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
  };
  // The messages and Gaps bob gets, up to the message with that sequence.
  Seen bob_until(std::uint64_t seq) {
    const auto last = bob.wait_for(
        [&](const v1::ServerFrame& f) {
          return f.has_room_message() && f.room_message().seq() == seq;
        },
        std::chrono::seconds(20));
    REQUIRE(last.has_value());
    Seen seen;
    for (const auto& frame : bob.skipped()) {
      if (frame.has_room_message()) seen.seqs.push_back(frame.room_message().seq());
      if (frame.has_gap()) seen.gaps.emplace_back(frame.gap().from_seq(), frame.gap().to_seq());
    }
    seen.seqs.push_back(seq);
    return seen;
  }

  chat::test::RedisProcess redis;
  ProxyOnThread proxy;
  TestServer first;
  TestServer second;
  TestClient alice;
  TestClient bob;
  std::uint64_t next_id = 1;
};

using chat::test::seq_range;

}  // namespace

TEST_CASE(
    "Redis restarted during traffic: sends are refused meanwhile, nothing acknowledged is lost") {
  chat::test::TwoNodeLobby cluster(/*durable_redis=*/true);
  auto& redis = cluster.redis;
  auto& alice = cluster.alice;
  auto& bob = cluster.bob;

  std::map<std::uint64_t, std::string> acknowledged;
  std::uint64_t next_id = 1;
  for (int n = 0; n < 5; ++n) {
    const std::string text = "before " + std::to_string(n);
    const auto ack = alice.say("lobby", text, next_id++);
    REQUIRE(ack.has_ack());
    acknowledged[ack.ack().seq()] = text;
  }

  redis.kill();
  const auto refused = alice.say("lobby", "while down", next_id++);
  REQUIRE(refused.has_error());
  CHECK(refused.error().code() == v1::Error::UNAVAILABLE);
  // Connected clients stay connected.
  v1::ClientFrame ping;
  ping.mutable_ping()->set_nonce(7);
  CHECK(bob.reply_to(bob.send(ping)).has_value());

  redis.restart();
  // The nodes reconnect by themselves (with backoff): wait until a send is acknowledged again.
  const auto alice_back = say_once_back(alice, "after", next_id);
  acknowledged[alice_back.seq()] = "after";
  // bob's node reconnects on its own schedule.
  const auto bob_back = say_once_back(bob, "bob back", next_id);
  acknowledged[bob_back.seq()] = "bob back";
  for (int n = 0; n < 5; ++n) {
    const std::string text = "after " + std::to_string(n);
    const auto ack = bob.say("lobby", text, next_id++);
    REQUIRE(ack.has_ack());
    acknowledged[ack.ack().seq()] = text;
  }
  // The live path works again across nodes: bob's last message reaches alice.
  CHECK(alice
            .wait_for([](const v1::ServerFrame& f) {
              return f.has_room_message() && f.room_message().text() == "after 4";
            })
            .has_value());
  // Every acknowledged message is in the history both nodes serve (each up to what it has fanned
  // out: both have seen the last one now), with nothing between them.
  const auto seen_by_alice = history_of(alice, "lobby");
  const auto seen_by_bob = history_of(bob, "lobby");
  CHECK(seen_by_alice == seen_by_bob);
  for (const auto& [seq, text] : acknowledged) {
    CAPTURE(seq);
    REQUIRE(seen_by_alice.contains(seq));
    CHECK(seen_by_alice.at(seq) == text);
  }
  CHECK(seen_by_alice.size() == acknowledged.size());
}

TEST_CASE("a node killed with SIGKILL: the others go on, its clients resume on another node") {
  chat::test::RedisProcess redis;
  const std::vector<std::string> flags{
      "--engine",       "redis", "--redis",          redis.address(),
      "--heartbeat-ms", "200",   "--node-expiry-ms", "3000"};
  chat::test::ServerProcess doomed(flags);
  chat::test::ServerProcess survivor(flags);

  auto alice = TestClient::connect_as(doomed.port(), "alice");
  auto bob = TestClient::connect_as(survivor.port(), "bob");
  REQUIRE(alice.join("lobby").has_join_reply());
  REQUIRE(bob.join("lobby").has_join_reply());
  std::uint64_t last_seen = 0;
  for (int n = 1; n <= 5; ++n) {
    REQUIRE(bob.say("lobby", "one " + std::to_string(n), static_cast<std::uint64_t>(n)).has_ack());
  }
  for (int n = 1; n <= 5; ++n) {
    const auto message =
        alice.wait_for([](const v1::ServerFrame& f) { return f.has_room_message(); });
    REQUIRE(message.has_value());
    last_seen = message->room_message().seq();
  }
  CHECK(last_seen == 5);

  doomed.stop(SIGKILL);
  CHECK_FALSE(alice.wait_closed().has_value());  // no Disconnect: the node just died
  // Its heartbeat expires (3 s here): the survivor tells its members alice left with her node.
  const auto left = bob.wait_for(
      [](const v1::ServerFrame& f) {
        return f.has_member_left() && f.member_left().nick() == "alice";
      },
      std::chrono::seconds(15));
  REQUIRE(left.has_value());
  CHECK(left->member_left().reason() == "server lost");
  for (int n = 6; n <= 8; ++n) {
    REQUIRE(bob.say("lobby", "two " + std::to_string(n), static_cast<std::uint64_t>(n)).has_ack());
  }
  // alice comes back through the survivor and resumes after what she saw: no gap, no repeat.
  v1::ResumeRoom resume;
  resume.set_room("lobby");
  resume.set_last_seen_seq(last_seen);
  auto again = TestClient::connect_as(survivor.port(), "alice", {resume});
  for (std::uint64_t seq = 6; seq <= 8; ++seq) {
    const auto message =
        again.wait_for([](const v1::ServerFrame& f) { return f.has_room_message(); });
    REQUIRE(message.has_value());
    CHECK(message->room_message().seq() == seq);
  }
}

TEST_CASE("Redis forgetting its scripts (SCRIPT FLUSH) fails nothing: they are sent again") {
  chat::test::TwoNodeLobby cluster;
  REQUIRE(cluster.alice.say("lobby", "before", 1).ack().seq() == 1);
  REQUIRE(cluster.redis.query({"SCRIPT", "FLUSH"}) == "OK");
  const auto after = cluster.alice.say("lobby", "after", 2);
  REQUIRE(after.has_ack());
  CHECK(after.ack().seq() == 2);
  const auto seen = cluster.bob.wait_for([](const v1::ServerFrame& f) {
    return f.has_room_message() && f.room_message().text() == "after";
  });
  REQUIRE(seen.has_value());
  CHECK(seen->room_message().seq() == 2);
  CHECK(history_of(cluster.bob, "lobby").size() == 2);
}

TEST_CASE("a node taken for dead while it was up records its members again") {
  chat::test::TwoNodeLobby cluster;
  auto& redis = cluster.redis;
  // A join is answered before its node has recorded the member in Redis.
  REQUIRE(chat::test::eventually([&] {
    return redis.query({"HLEN", "chat:r:{lobby}:members"}) == "2";
  }));
  // As if both nodes had stalled past their heartbeat's expiry and been reaped meanwhile (the
  // members first: a heartbeat that finds its key gone records them again at once).
  redis.query({"DEL", "chat:r:{lobby}:members"});
  const std::string heartbeats = redis.query({"KEYS", "chat:node:*}"});
  for (std::size_t at = 0; at < heartbeats.size();) {
    const auto end = std::min(heartbeats.find('\n', at), heartbeats.size());
    redis.query({"DEL", heartbeats.substr(at, end - at)});
    at = end + 1;
  }
  CHECK(chat::test::eventually(
      [&] {
        return redis.query({"HLEN", "chat:r:{lobby}:members"}) == "2";
      },
      std::chrono::seconds(15)));
  // Each node sees the other's member again.
  v1::ClientFrame who;
  who.mutable_who()->set_room("lobby");
  for (auto* client : {&cluster.alice, &cluster.bob}) {
    CHECK(chat::test::eventually([&] {
      const auto list = client->reply_to(client->send(who));
      return list && list->member_list().nicks_size() == 2;
    }));
  }
}

TEST_CASE("a node that revived while it was being reaped records its members again") {
  chat::test::TwoNodeLobby cluster;
  auto& redis = cluster.redis;
  REQUIRE(chat::test::eventually([&] {
    return redis.query({"HLEN", "chat:r:{lobby}:members"}) == "2";
  }));
  // Where the race leaves it: the node beat again (its heartbeat is there) and recorded its
  // members, then the reaper, which had found it dead a moment before, removed them from the room
  // and, last, the node from the set of nodes.
  const std::string owner = redis.query({"GET", "chat:nick:{alice}"});
  const std::string node = owner.substr(0, owner.find(':'));
  REQUIRE(redis.query({"EXISTS", "chat:node:{" + node + "}"}) == "1");
  REQUIRE(redis.query({"HDEL", "chat:r:{lobby}:members", owner}) == "1");
  redis.query({"DEL", "chat:node:{" + node + "}:rooms", "chat:node:{" + node + "}:nicks"});
  REQUIRE(redis.query({"SREM", "chat:nodes", node}) == "1");
  CHECK(chat::test::eventually(
      [&] {
        return redis.query({"HLEN", "chat:r:{lobby}:members"}) == "2" &&
               redis.query({"SISMEMBER", "chat:node:{" + node + "}:rooms", "lobby"}) == "1";
      },
      std::chrono::seconds(15)));
}

TEST_CASE("a login that renews an expired heartbeat still has its node record its members again") {
  // The default heartbeat (1 s): the login's claim comes before the next beat.
  chat::test::TwoNodeLobby cluster(false, 1000);
  auto& redis = cluster.redis;
  const std::string owner = redis.query({"GET", "chat:nick:{alice}"});
  const std::string heartbeat = "chat:node:{" + owner.substr(0, owner.find(':')) + "}";
  // As if the first node had stalled and been reaped; a login there claims a nick before its next
  // heartbeat, and the claim renews the key the heartbeat would have found missing.
  redis.query({"DEL", "chat:r:{lobby}:members"});
  redis.query({"DEL", heartbeat});
  auto carol = TestClient::connect_as(cluster.first.port(), "carol");
  CHECK(chat::test::eventually(
      [&] {
        return redis.query({"HEXISTS", "chat:r:{lobby}:members", owner}) == "1";
      },
      std::chrono::seconds(15)));
}

TEST_CASE("nicks stay unique across the cluster after Redis restarts empty") {
  chat::test::RedisProcess redis;
  TestServer first(node_config(redis));
  auto second_config = node_config(redis);
  second_config.http = "127.0.0.1:0";  // its /readyz tells when it has Redis again
  TestServer second(second_config);
  auto alice = TestClient::connect_as(first.port(), "alice");
  auto bob = TestClient::connect_as(first.port(), "bob");
  v1::ClientFrame rename;
  rename.mutable_set_nick()->set_nick("robert");
  REQUIRE(bob.reply_to(bob.send(rename))->has_ok());
  const std::string owner = redis.query({"GET", "chat:nick:{alice}"});
  REQUIRE_FALSE(owner.empty());

  redis.query({"SET", "test:before-restart", "1"});
  redis.restart();  // forgets every claim
  // (The nodes may be back and claiming already: a key of the test's own shows the data is gone.)
  REQUIRE(redis.query({"EXISTS", "test:before-restart"}) == "0");
  // The first node claims its sessions' nicks again once it is back, and only those it holds.
  CHECK(chat::test::eventually(
      [&] {
        return redis.query({"GET", "chat:nick:{alice}"}) == owner &&
               !redis.query({"GET", "chat:nick:{robert}"}).empty();
      },
      std::chrono::seconds(20)));
  CHECK(redis.query({"EXISTS", "chat:nick:{bob}"}) == "0");
  // The second node reconnects on its own backoff: until then it answers UNAVAILABLE.
  REQUIRE(chat::test::eventually(
      [&] { return chat::test::http_get(second.server().http_port(), "/readyz").status == 200; },
      std::chrono::seconds(20)));

  for (const char* nick : {"Alice", "ROBERT"}) {
    TestClient copycat(second.port());
    const auto refused = copycat.reply_to(copycat.send(chat::test::hello_frame(nick)));
    REQUIRE(refused.has_value());
    REQUIRE(refused->has_error());
    CHECK(refused->error().code() == v1::Error::NICK_IN_USE);
  }
  CHECK_NOTHROW(TestClient::connect_as(second.port(), "bob"));
}

TEST_CASE("a nick given up while Redis is away is released once it is back") {
  chat::test::RedisProcess redis(/*durable=*/true);
  TestServer first(node_config(redis));
  auto second_config = node_config(redis);
  second_config.http = "127.0.0.1:0";  // its /readyz tells when it has Redis again
  TestServer second(second_config);
  {
    auto alice = TestClient::connect_as(first.port(), "alice");
    REQUIRE_FALSE(redis.query({"GET", "chat:nick:{alice}"}).empty());
    redis.kill();
    alice.shutdown_write();
    alice.wait_closed();
  }
  redis.restart();  // durable: the claim is still there, held by a live node
  CHECK(chat::test::eventually(
      [&] {
        return redis.query({"EXISTS", "chat:nick:{alice}"}) == "0";
      },
      std::chrono::seconds(20)));
  // The second node reconnects on its own backoff: until then it answers UNAVAILABLE.
  REQUIRE(chat::test::eventually(
      [&] { return chat::test::http_get(second.server().http_port(), "/readyz").status == 200; },
      std::chrono::seconds(20)));
  CHECK_NOTHROW(TestClient::connect_as(second.port(), "alice"));
}

TEST_CASE("Redis restarted without its data: sequences continue above what the nodes have seen") {
  chat::test::TwoNodeLobby cluster;  // no persistence: the restart loses every room's counter
  auto& alice = cluster.alice;
  auto& bob = cluster.bob;
  std::uint64_t next_id = 1;
  for (int n = 1; n <= 5; ++n) REQUIRE(alice.say("lobby", "before", next_id++).ack().seq() == n);
  REQUIRE(bob.wait_for([](const v1::ServerFrame& f) {
               return f.has_room_message() && f.room_message().seq() == 5;
             })
              .has_value());

  cluster.redis.restart();
  // Not 1 again, which every node would drop as seen.
  CHECK(say_once_back(bob, "after", next_id).seq() == 6);
  // Both nodes deliver it: bob's before his Ack (kept among the frames say() skipped).
  const auto seen = alice.wait_for([](const v1::ServerFrame& f) {
    return f.has_room_message() && f.room_message().text() == "after";
  });
  REQUIRE(seen.has_value());
  CHECK(seen->room_message().seq() == 6);
  bool bob_saw_it = false;
  for (const auto& frame : bob.skipped()) {
    bob_saw_it = bob_saw_it || (frame.has_room_message() && frame.room_message().seq() == 6 &&
                                frame.room_message().text() == "after");
  }
  CHECK(bob_saw_it);
  // What Redis lost is an explicit Gap in the history it serves to a node that loads the room now.
  TestServer third(node_config(cluster.redis));
  auto carol = TestClient::connect_as(third.port(), "carol");
  REQUIRE(carol.join("lobby").has_join_reply());
  const auto page = chat::test::history_after(carol, "lobby", 0, 100);
  REQUIRE(page.has_gap());
  CHECK(page.gap().from_seq() == 1);
  CHECK(page.gap().to_seq() == 5);
  CHECK(chat::test::seqs_of(page) == std::vector<std::uint64_t>{6});
}

TEST_CASE(
    "a join while Redis is away is refused at once as UNAVAILABLE, and works once it is back") {
  chat::test::RedisProcess redis;
  auto config = node_config(redis);
  config.http = "127.0.0.1:0";
  TestServer node(config);
  auto alice = TestClient::connect_as(node.port(), "alice");
  REQUIRE(alice.join("lobby").has_join_reply());
  auto bob = TestClient::connect_as(node.port(), "bob");

  redis.kill();
  const std::uint16_t http_port = node.server().http_port();
  REQUIRE(chat::test::eventually(
      [&] { return chat::test::http_get(http_port, "/readyz").status == 503; }));
  v1::ClientFrame join;
  join.mutable_join()->set_room("elsewhere");
  const auto refused = alice.reply_to(alice.send(join));
  REQUIRE(refused.has_value());  // not left waiting for Redis
  REQUIRE(refused->has_error());
  CHECK(refused->error().code() == v1::Error::UNAVAILABLE);
  CHECK(bob.join("lobby").has_join_reply());  // a room this node follows is joined from memory
  v1::ClientFrame topic;
  topic.mutable_set_topic()->set_room("lobby");
  topic.mutable_set_topic()->set_topic("lost?");
  const auto not_stored = alice.reply_to(alice.send(topic));
  REQUIRE(not_stored.has_value());
  REQUIRE(not_stored->has_error());  // not confirmed, nor shown, when Redis did not take it
  CHECK(not_stored->error().code() == v1::Error::UNAVAILABLE);

  redis.restart();
  std::optional<v1::ServerFrame> joined;
  CHECK(chat::test::eventually(
      [&] {
        joined = alice.reply_to(alice.send(join));
        return joined && joined->has_join_reply();
      },
      std::chrono::seconds(20)));
  v1::ClientFrame leave;
  leave.mutable_leave()->set_room("lobby");
  REQUIRE(bob.reply_to(bob.send(leave)).has_value());
  const auto rejoined = bob.join("lobby");
  REQUIRE(rejoined.has_join_reply());
  CHECK(rejoined.join_reply().topic().empty());  // the refused topic was never the room's
}

TEST_CASE("a room whose every join gave up while it loaded is not followed") {
  chat::test::RedisProcess redis;
  TestServer node(node_config(redis));
  {
    auto alice = TestClient::connect_as(node.port(), "alice");
    // Redis holds every command meanwhile: the join waits on its SUBSCRIBE, and alice leaves.
    REQUIRE(redis.query({"CLIENT", "PAUSE", "1500", "ALL"}) == "OK");
    v1::ClientFrame join;
    join.mutable_join()->set_room("abandoned");
    alice.send(join);
    alice.shutdown_write();
    alice.wait_closed();
  }
  CHECK(chat::test::eventually(
      [&] {
        return redis.query({"PUBSUB", "SHARDNUMSUB", "chat:r:{abandoned}"}) ==
               "chat:r:{abandoned}\n0";
      },
      std::chrono::seconds(10)));
}

TEST_CASE("a node that missed messages Redis has trimmed since announces a Gap and goes on") {
  CutOffNode cluster([](server::ServerConfig& config) { config.retention_messages = 10; });
  cluster.cut();
  for (int n = 6; n <= 30; ++n)
    REQUIRE(cluster.alice.say("lobby", "meanwhile", cluster.next_id++).has_ack());
  cluster.restore();

  // Back: a Gap for what Redis no longer has (6-20), then 21-30 once each and in order.
  const auto got = cluster.bob_until(30);
  CHECK(got.gaps == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{6, 20}});
  CHECK(got.seqs == seq_range(21, 30));
  // And live traffic flows both ways again.
  CHECK(say_once_back(cluster.bob, "back", cluster.next_id).seq() == 31);
  CHECK(cluster.alice
            .wait_for([](const v1::ServerFrame& f) {
              return f.has_room_message() && f.room_message().text() == "back";
            })
            .has_value());
}

TEST_CASE("a node that missed many pages of messages reads them all, with no Gap") {
  // One message per read: the node reads page after page while live messages come on the channel.
  CutOffNode cluster([](server::ServerConfig& config) { config.max_history = 1; });
  cluster.cut();
  for (int n = 6; n <= 305; ++n) {
    REQUIRE(cluster.alice.say("lobby", "meanwhile", cluster.next_id++).has_ack());
  }
  cluster.restore();
  CHECK(chat::test::eventually([&] {
    return cluster.redis.query({"PUBSUB", "SHARDNUMSUB", "chat:r:{lobby}"}) == "chat:r:{lobby}\n2";
  }));
  for (int n = 306; n <= 310; ++n) {
    REQUIRE(cluster.alice.say("lobby", "live", cluster.next_id++).has_ack());
  }
  const auto got = cluster.bob_until(310);
  CHECK(got.gaps.empty());
  CHECK(got.seqs == seq_range(6, 310));
}

TEST_CASE("members who left while Redis was away leave for every node once it is back") {
  chat::test::TwoNodeLobby cluster(/*durable_redis=*/true);  // Redis keeps its records
  auto& redis = cluster.redis;
  auto& bob = cluster.bob;
  {
    auto carol = TestClient::connect_as(cluster.first.port(), "carol");
    REQUIRE(carol.join("lobby").has_join_reply());
    REQUIRE(carol.join("side").has_join_reply());  // a room only her node follows
    REQUIRE(bob.wait_for([](const v1::ServerFrame& f) {
                 return f.has_member_joined() && f.member_joined().nick() == "carol";
               })
                .has_value());
    REQUIRE(redis.query({"HLEN", "chat:r:{lobby}:members"}) == "3");
    redis.kill();
    carol.shutdown_write();
    carol.wait_closed();
  }
  redis.restart();
  // Redis forgets her, in both rooms, and bob's node is told.
  const auto left = bob.wait_for(
      [](const v1::ServerFrame& f) {
        return f.has_member_left() && f.member_left().nick() == "carol";
      },
      std::chrono::seconds(20));
  CHECK(left.has_value());
  CHECK(chat::test::eventually([&] {
    return redis.query({"HLEN", "chat:r:{lobby}:members"}) == "2" &&
           redis.query({"HLEN", "chat:r:{side}:members"}) == "0";
  }));
  v1::ClientFrame who;
  who.mutable_who()->set_room("lobby");
  const auto list = bob.reply_to(bob.send(who));
  REQUIRE(list.has_value());
  CHECK(list->member_list().nicks_size() == 2);
  // The node's own list of its rooms is a step after the room's members (another slot).
  const std::string owner = redis.query({"GET", "chat:nick:{alice}"});
  const std::string node_rooms = "chat:node:{" + owner.substr(0, owner.find(':')) + "}:rooms";
  CHECK(chat::test::eventually([&] { return redis.query({"SMEMBERS", node_rooms}) == "lobby"; }));
}
