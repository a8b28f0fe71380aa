// scripts/redis_migrate_layout.lua on data in the layout cluster mode wrote before Redis Cluster
// support: a node started after it serves the same history, topic, accounts and read markers.
#include <doctest/doctest.h>

#include "child_process.hpp"
#include "cluster_support.hpp"
#include "store_support.hpp"

namespace {

using namespace chat;

std::string stored_message(const std::string& text, const std::string& from) {
  v1::RoomMessage message;
  message.set_room("Lobby");
  message.set_from(from);
  message.set_text(text);
  message.set_server_time_ms(1'700'000'000'000);
  return message.SerializeAsString();
}

int migrate(const chat::test::RedisProcess& redis) {
  chat::test::ChildProcess cli(
      {"/usr/bin/redis-cli", "-p", std::to_string(redis.port()), "--eval",
       std::string(CHAT_SOURCE_DIR) + "/scripts/redis_migrate_layout.lua"});
  return cli.wait_exit();
}

}  // namespace

TEST_CASE("Redis data of the layout before Redis Cluster support moves to the current one") {
  chat::test::RedisProcess redis;
  // What an earlier version kept: a room with three messages (one edited), a topic, a member of a
  // node long gone, an account, a read marker, a nick claim and a node record.
  for (int seq = 1; seq <= 3; ++seq) {
    const std::string text = "old " + std::to_string(seq);
    redis.query({"XADD", "chat:r:lobby:log", std::to_string(seq) + "-1", "m",
                 stored_message(text, "alice"), "s", "alice", "t", "1700000000000", "d",
                 "alice\n" + std::to_string(seq)});
    redis.query({"HSET", "chat:r:lobby:ids", "alice\n" + std::to_string(seq), std::to_string(seq)});
  }
  redis.query({"SET", "chat:r:lobby:seq", "3"});
  redis.query({"HSET", "chat:r:lobby:edits", "2", stored_message("old 2, edited", "alice")});
  redis.query({"SET", "chat:r:lobby:topic", "kept topic"});
  redis.query({"HSET", "chat:r:lobby:members", "deadbeef:1", "alice"});
  redis.query({"HSET", "chat:rooms", "lobby", "Lobby"});
  redis.query({"ZADD", "chat:room-index", "0", "lobby"});
  redis.query({"HSET", "chat:accounts", "alice", "$argon2id$v=19$m=65536,t=2,p=1$not-a-real-hash"});
  redis.query({"HSET", "chat:read:alice", "lobby", "2"});
  redis.query({"HSET", "chat:nicks", "alice", "deadbeef:1"});
  redis.query({"SADD", "chat:nodes", "deadbeef"});
  redis.query({"SADD", "chat:node:deadbeef:rooms", "lobby"});

  REQUIRE(migrate(redis) == 0);
  CHECK(redis.query({"GET", "chat:account:{alice}"}) ==
        "$argon2id$v=19$m=65536,t=2,p=1$not-a-real-hash");
  CHECK(redis.query({"HGET", "chat:read:{alice}", "lobby"}) == "2");
  CHECK(redis.query({"GET", "chat:r:{lobby}:name"}) == "Lobby");
  for (const char* gone : {"chat:rooms", "chat:accounts", "chat:nicks", "chat:nodes",
                           "chat:node:deadbeef:rooms", "chat:r:lobby:log", "chat:r:lobby:members"})
    CHECK(redis.query({"EXISTS", gone}) == "0");
  // Once more: nothing left to move, nothing lost.
  REQUIRE(migrate(redis) == 0);
  CHECK(redis.query({"XLEN", "chat:r:{lobby}:log"}) == "3");

  chat::test::TestServer node(chat::test::node_config(redis));
  auto bob = chat::test::TestClient::connect_as(node.port(), "bob");
  const auto joined = bob.join("lobby");
  REQUIRE(joined.has_join_reply());
  CHECK(joined.join_reply().topic() == "kept topic");
  CHECK(joined.join_reply().member_count() == 1);  // bob: the dead node's member went
  const auto history = chat::test::all_history(bob, "lobby");
  REQUIRE(history.size() == 3);
  CHECK(history[0].text() == "old 1");
  CHECK(history[1].text() == "old 2, edited");
  CHECK(history[2].seq() == 3);
  // The sequence goes on.
  CHECK(bob.say("lobby", "new", 1).ack().seq() == 4);
}
