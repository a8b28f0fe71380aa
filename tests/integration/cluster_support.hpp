#pragma once
// A cluster node's configuration for in-process test servers: the redis engine on a test's Redis.

#include "redis_process.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace chat::test {

// heartbeat_ms: short, so that a dead node is noticed within three seconds, not five.
inline server::ServerConfig node_config(const RedisProcess& redis,
                                        std::uint32_t heartbeat_ms = 200) {
  auto config = test_config();
  config.engine = "redis";
  config.redis = redis.address();
  config.heartbeat_ms = heartbeat_ms;
  // Longer than a reconnection's backoff can keep the heartbeats' connection behind the others.
  config.node_expiry_ms = 15 * heartbeat_ms;
  return config;
}

// Two nodes on one Redis, alice on the first and bob on the second, both in "lobby".
struct TwoNodeLobby {
  explicit TwoNodeLobby(bool durable_redis = false, std::uint32_t heartbeat_ms = 200)
      : redis(durable_redis),
        first(node_config(redis, heartbeat_ms)),
        second(node_config(redis, heartbeat_ms)),
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
