// Cluster mode on a real Redis Cluster (redis-server processes joined by redis-cli --cluster
// create): rooms on different masters, a master killed during traffic, a room's slot moved to
// another master while it is busy.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "cluster_support.hpp"
#include "http_get.hpp"
#include "redis_cluster_process.hpp"
#include "store_support.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace {

using namespace chat;
using chat::test::RedisCluster;
using chat::test::TestClient;
using chat::test::TestServer;

server::ServerConfig cluster_node(const RedisCluster& redis, const std::string& acknowledge) {
  auto config = chat::test::test_config();
  config.engine = "redis";
  config.redis = redis.seeds();
  config.heartbeat_ms = 200;
  config.node_expiry_ms = 3000;
  config.redis_acknowledge = acknowledge;
  config.redis_replica_timeout_ms = 2000;
  return config;
}

std::string seq_key(const std::string& room) { return "chat:r:{" + room + "}:seq"; }

// One room per master: the first of room0, room1, ... whose slot that master serves.
std::vector<std::string> a_room_on_each_master(RedisCluster& redis, std::size_t masters) {
  std::map<std::uint16_t, std::string> by_master;
  for (int i = 0; by_master.size() < masters && i < 1000; ++i) {
    const std::string room = "room" + std::to_string(i);
    if (auto* master = redis.master_of(seq_key(room));
        master && !by_master.contains(master->port()))
      by_master[master->port()] = room;
  }
  std::vector<std::string> rooms;
  for (const auto& [port, room] : by_master) rooms.push_back(room);
  return rooms;
}

// Every room message the client has been sent (frames skipped while it waited for replies
// first), by room, in arrival order, until each room of `last_seq` reached its last seq.
std::map<std::string, std::vector<std::uint64_t>> live_seqs(
    TestClient& client, const std::map<std::string, std::uint64_t>& last_seq,
    std::chrono::seconds deadline = std::chrono::seconds(20)) {
  std::map<std::string, std::vector<std::uint64_t>> seen;
  auto absorb = [&](const v1::ServerFrame& frame) {
    if (frame.has_room_message())
      seen[frame.room_message().room()].push_back(frame.room_message().seq());
  };
  for (const auto& frame : client.skipped()) absorb(frame);
  client.skipped().clear();
  auto complete = [&] {
    for (const auto& [room, last] : last_seq)
      if (seen[room].empty() || seen[room].back() < last) return false;
    return true;
  };
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!complete() && std::chrono::steady_clock::now() < until) {
    if (auto frame = client.next(std::chrono::milliseconds(500))) absorb(*frame);
  }
  return seen;
}

// Sends until acknowledged (the same client_msg_id each time, so a retry is never stored twice);
// returns the seq, or 0 when the deadline passed.
std::uint64_t say_until_acknowledged(TestClient& client, const std::string& room,
                                     const std::string& text, std::uint64_t client_msg_id,
                                     std::chrono::seconds deadline = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    const auto reply = client.say(room, text, client_msg_id);
    if (reply.has_ack()) return reply.ack().seq();
    REQUIRE(reply.has_error());
    CHECK(reply.error().code() == v1::Error::UNAVAILABLE);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

// Every acknowledged message is in the room's history exactly once, under its seq, and nothing
// else is.
void check_history(TestClient& client, const std::string& room,
                   const std::map<std::uint64_t, std::string>& acknowledged) {
  const auto history = chat::test::all_history(client, room);
  std::map<std::uint64_t, std::string> stored;
  for (const auto& message : history) stored[message.seq()] = message.text();
  CHECK(history.size() == stored.size());
  CHECK(stored == acknowledged);
}

// The sum of a metric's samples whose line starts with `prefix`.
double metric_sum(std::uint16_t http_port, std::string_view prefix) {
  const std::string body = chat::test::http_get(http_port, "/metrics").body;
  double sum = 0;
  for (std::size_t at = 0; at < body.size();) {
    const auto end = std::min(body.find('\n', at), body.size());
    const std::string line = body.substr(at, end - at);
    if (line.starts_with(prefix)) sum += std::stod(line.substr(line.rfind(' ') + 1));
    at = end + 1;
  }
  return sum;
}

// Two nodes in "lobby": alice on the first (which serves /metrics and /readyz), bob on the second.
struct SenderAndReader {
  static server::ServerConfig with_http(server::ServerConfig config) {
    config.http = "127.0.0.1:0";
    return config;
  }
  SenderAndReader(const RedisCluster& redis, const std::string& acknowledge)
      : sender_node(with_http(cluster_node(redis, acknowledge))),
        reader_node(cluster_node(redis, acknowledge)),
        alice(TestClient::connect_as(sender_node.port(), "alice")),
        bob(TestClient::connect_as(reader_node.port(), "bob")) {
    REQUIRE(alice.join("lobby").has_join_reply());
    REQUIRE(bob.join("lobby").has_join_reply());
  }
  TestServer sender_node;
  TestServer reader_node;
  TestClient alice;
  TestClient bob;
};

}  // namespace

TEST_CASE("three nodes on a Redis Cluster of three masters: every message once, in one order") {
  RedisCluster redis(3, 1);
  auto first = cluster_node(redis, "master");
  first.http = "127.0.0.1:0";
  std::vector<std::unique_ptr<TestServer>> nodes;
  nodes.push_back(std::make_unique<TestServer>(first));
  for (int i = 0; i < 2; ++i)
    nodes.push_back(std::make_unique<TestServer>(cluster_node(redis, "master")));
  const auto rooms = a_room_on_each_master(redis, 3);
  REQUIRE(rooms.size() == 3);

  std::vector<TestClient> clients;
  for (const char* nick : {"alice", "bob", "carol"}) {
    clients.push_back(TestClient::connect_as(nodes[clients.size()]->port(), nick));
    for (const auto& room : rooms) REQUIRE(clients.back().join(room).has_join_reply());
  }
  // Each client says five things in each room, the rooms' masters interleaved.
  std::map<std::string, std::map<std::uint64_t, std::string>> acknowledged;
  std::uint64_t id = 1;
  for (int round = 0; round < 5; ++round) {
    for (auto& client : clients) {
      for (const auto& room : rooms) {
        const std::string text = "m" + std::to_string(id);
        const auto reply = client.say(room, text, id++);
        REQUIRE(reply.has_ack());
        acknowledged[room][reply.ack().seq()] = text;
      }
    }
  }
  std::map<std::string, std::uint64_t> last;
  for (const auto& room : rooms) {
    REQUIRE(acknowledged[room].size() == 15);
    last[room] = 15;
  }
  // Every member of every room saw 1..15 there, each once, in order.
  for (auto& client : clients) {
    const auto seen = live_seqs(client, last);
    for (const auto& room : rooms) {
      CAPTURE(room);
      CHECK(seen.at(room) == chat::test::seq_range(1, 15));
    }
  }
  // History and resume through a node other than the senders'.
  auto dave = TestClient::connect_as(nodes[2]->port(), "dave");
  for (const auto& room : rooms) {
    REQUIRE(dave.join(room).has_join_reply());
    check_history(dave, room, acknowledged[room]);
  }

  // Each master up, with its share of the commands.
  const auto port = nodes[0]->server().http_port();
  CHECK(metric_sum(port, "chat_redis_master_up{") == 3);
  for (std::size_t i = 0; i < redis.size(); ++i) {
    if (!redis.is_master(redis.node(i))) continue;
    CAPTURE(redis.node(i).address());
    CHECK(metric_sum(port, "chat_redis_commands_total{master=\"" + redis.node(i).address()) > 0);
  }
  CHECK(chat::test::http_get(nodes[0]->server().http_port(), "/readyz").status == 200);
}

TEST_CASE(
    "a Redis master killed during traffic: its replica takes over, nothing acknowledged is lost") {
  // Two replicas each: the promoted one still has a replica to acknowledge with.
  RedisCluster redis(3, 2);
  SenderAndReader lobby(redis, "replica");
  auto& alice = lobby.alice;
  auto& bob = lobby.bob;

  std::map<std::uint64_t, std::string> acknowledged;
  std::uint64_t id = 1;
  for (; id <= 10; ++id) {
    const std::string text = "before " + std::to_string(id);
    acknowledged[say_until_acknowledged(alice, "lobby", text, id)] = text;
  }
  auto* master = redis.master_of(seq_key("lobby"));
  REQUIRE(master != nullptr);
  redis.kill(*master);
  const auto killed = std::chrono::steady_clock::now();
  // /readyz names the master that is missing (until the replica has taken over).
  CHECK(chat::test::eventually(
      [&] {
        const auto ready = chat::test::http_get(lobby.sender_node.server().http_port(), "/readyz");
        return ready.status == 503 && ready.body.find(master->address()) != std::string::npos;
      },
      std::chrono::seconds(2)));

  const std::uint64_t back = say_until_acknowledged(alice, "lobby", "after 0", id++);
  REQUIRE(back != 0);
  acknowledged[back] = "after 0";
  MESSAGE("from the master's death to the first message acknowledged again: "
          << std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - killed)
                 .count()
          << " ms");
  for (int n = 1; n < 10; ++n, ++id) {
    const std::string text = "after " + std::to_string(n);
    acknowledged[say_until_acknowledged(alice, "lobby", text, id)] = text;
  }
  REQUIRE(acknowledged.size() == 20);
  CHECK(redis.master_of(seq_key("lobby")) != master);

  // bob saw every acknowledged message once, in order (what the failover hid from the live path
  // comes from the stream).
  const auto seen = live_seqs(bob, {{"lobby", acknowledged.rbegin()->first}});
  std::vector<std::uint64_t> expected;
  for (const auto& [seq, text] : acknowledged) expected.push_back(seq);
  CHECK(seen.at("lobby") == expected);
  check_history(bob, "lobby", acknowledged);
  CHECK(chat::test::http_get(lobby.sender_node.server().http_port(), "/readyz").status == 200);
}

TEST_CASE("a busy room's slot moves to another master: redirects followed, nothing lost or twice") {
  RedisCluster redis(3, 0);
  SenderAndReader lobby(redis, "master");
  auto& alice = lobby.alice;
  auto& bob = lobby.bob;

  auto* source = redis.master_of(seq_key("lobby"));
  REQUIRE(source != nullptr);
  chat::test::RedisProcess* target = nullptr;
  for (std::size_t i = 0; i < redis.size() && !target; ++i)
    if (&redis.node(i) != source) target = &redis.node(i);
  const std::string slot = source->query({"CLUSTER", "KEYSLOT", seq_key("lobby")});
  const std::string source_id = source->query({"CLUSTER", "MYID"});
  const std::string target_id = target->query({"CLUSTER", "MYID"});

  std::map<std::uint64_t, std::string> acknowledged;
  std::uint64_t id = 1;
  for (; id <= 5; ++id) {
    const std::string text = "before " + std::to_string(id);
    acknowledged[say_until_acknowledged(alice, "lobby", text, id)] = text;
  }
  // The slot moves as redis-cli --cluster reshard moves it, a key at a time, while alice sends.
  std::atomic<bool> moved{false};
  std::atomic<bool> started{true};
  std::thread mover([&] {
    started = target->query({"CLUSTER", "SETSLOT", slot, "IMPORTING", source_id}) == "OK" &&
              source->query({"CLUSTER", "SETSLOT", slot, "MIGRATING", target_id}) == "OK";
    for (int keys_moved = 0; started && keys_moved < 100; ++keys_moved) {
      const std::string keys = source->query({"CLUSTER", "GETKEYSINSLOT", slot, "1"});
      if (keys.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      source->query({"MIGRATE", "127.0.0.1", std::to_string(target->port()), keys, "0", "5000"});
    }
    // Every key is on the target, the slot still the source's: the source answers ASK.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (std::size_t i = 0; i < redis.size(); ++i)
      redis.node(i).query({"CLUSTER", "SETSLOT", slot, "NODE", target_id});
    moved = true;
  });
  while (!moved) {
    const std::string text = "during " + std::to_string(id);
    acknowledged[say_until_acknowledged(alice, "lobby", text, id++)] = text;
  }
  mover.join();
  REQUIRE(started);
  REQUIRE(redis.master_of(seq_key("lobby")) == target);
  for (int n = 0; n < 5; ++n, ++id) {
    const std::string text = "after " + std::to_string(n);
    acknowledged[say_until_acknowledged(alice, "lobby", text, id)] = text;
  }
  MESSAGE(acknowledged.size() << " messages acknowledged, " << acknowledged.size() - 10
                              << " of them while the slot moved");

  const auto seen = live_seqs(bob, {{"lobby", acknowledged.rbegin()->first}});
  std::vector<std::uint64_t> expected;
  for (const auto& [seq, text] : acknowledged) expected.push_back(seq);
  CHECK(expected == chat::test::seq_range(1, acknowledged.size()));
  CHECK(seen.at("lobby") == expected);
  check_history(alice, "lobby", acknowledged);
  check_history(bob, "lobby", acknowledged);
  // The sender's node was redirected (ASK once the keys had moved), and says so.
  CHECK(metric_sum(lobby.sender_node.server().http_port(), "chat_redis_redirects_total{") > 0);
}

TEST_CASE("acknowledged once a replica has it: with no replica a send is refused, retries too") {
  RedisCluster redis(3, 0);
  SenderAndReader lobby(redis, "replica");
  auto& alice = lobby.alice;
  const auto refused = alice.say("lobby", "only on the master", 1);
  REQUIRE(refused.has_error());
  CHECK(refused.error().code() == v1::Error::UNAVAILABLE);
  // bob was sent it (the master has it), but alice's retry is not acknowledged from memory.
  REQUIRE(lobby.bob
              .wait_for([](const v1::ServerFrame& f) {
                return f.has_room_message() && f.room_message().text() == "only on the master";
              })
              .has_value());
  const auto retried = alice.say("lobby", "only on the master", 1);
  REQUIRE(retried.has_error());
  CHECK(retried.error().code() == v1::Error::UNAVAILABLE);
}
