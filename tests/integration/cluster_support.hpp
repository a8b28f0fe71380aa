#pragma once
// A cluster node's configuration for in-process test servers: the redis engine on a test's Redis.

#include "redis_process.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace chat::test {

inline server::ServerConfig node_config(const RedisProcess& redis) {
  auto config = test_config();
  config.engine = "redis";
  config.redis = redis.address();
  // A dead node is noticed within a second, not five.
  config.heartbeat_ms = 100;
  config.node_expiry_ms = 1000;
  return config;
}

// Two nodes on one Redis, alice on the first and bob on the second, both in "lobby".
struct TwoNodeLobby {
  explicit TwoNodeLobby(bool durable_redis = false)
      : redis(durable_redis),
        first(node_config(redis)),
        second(node_config(redis)),
        alice(TestClient::connect_as(first.port(), "alice")),
        bob(TestClient::connect_as(second.port(), "bob")) {
    if (!alice.join("lobby").has_join_reply() || !bob.join("lobby").has_join_reply())
      throw std::runtime_error("cannot join lobby");
  }
  RedisProcess redis;
  TestServer first;
  TestServer second;
  TestClient alice;
  TestClient bob;
};

}  // namespace chat::test
