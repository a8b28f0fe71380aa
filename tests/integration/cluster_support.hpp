#pragma once
// A cluster node's configuration for in-process test servers: the redis engine on a test's Redis.

#include "redis_process.hpp"
#include "test_server.hpp"

namespace chat::test {

inline server::ServerConfig node_config(const RedisProcess& redis) {
  auto config = test_config();
  config.engine = "redis";
  config.redis = redis.address();
  return config;
}

}  // namespace chat::test
