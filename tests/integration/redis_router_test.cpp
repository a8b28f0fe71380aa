// The Redis router against real redis-server processes: commands that wait for a replica, and ASK
// redirects to a master the router has not met yet.
#include <doctest/doctest.h>

#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster_slots.hpp"
#include "coroutine_test.hpp"
#include "event_waiter.hpp"
#include "redis_cluster_process.hpp"
#include "redis_connection.hpp"
#include "redis_process.hpp"
#include "redis_reply.hpp"
#include "redis_router.hpp"

namespace {

using chat::server::redis::Connection;
using chat::server::redis::ConnectionOptions;
using chat::server::redis::encode_command;
using chat::server::redis::key_slot;
using chat::server::redis::Reply;
using chat::server::redis::Router;
using chat::server::redis::RouterOptions;
using chat::test::EventWaiter;
using chat::test::RedisProcess;

RouterOptions router_options(const RedisProcess& seed) {
  RouterOptions options;
  options.seeds = {{"127.0.0.1", seed.port()}};
  options.connection.min_backoff = std::chrono::milliseconds(20);
  options.connection.max_backoff = std::chrono::milliseconds(200);
  return options;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Three replicated INCRs and a PING sent after them, on a master with or without a replica.
void replicated_commands(bool with_replica) {
  RedisProcess master;
  std::optional<RedisProcess> replica;
  if (with_replica) {
    replica.emplace(
        false, std::vector<std::string>{"--replicaof", "127.0.0.1", std::to_string(master.port())});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (replica->query({"ROLE"}).find("\nconnected\n") == std::string::npos) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  chat::test::run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    RouterOptions options = router_options(master);
    options.replicas = 1;
    options.replica_timeout = std::chrono::milliseconds(1500);
    Router router(io, options);
    EventWaiter waiter(io);
    router.on_state = [&](bool) { waiter.wake(); };
    router.start();
    co_await waiter.until([&] { return router.ready(); });

    std::vector<std::string> finished;  // in the order the answers came
    std::vector<Reply> replicated;
    for (int i = 0; i < 3; ++i) {
      router.command_encoded(
          "n", encode_command({"INCR", "n"}),
          [&](Reply reply) {
            finished.push_back("INCR");
            replicated.push_back(std::move(reply));
            waiter.wake();
          },
          true);
    }
    router.command("n", {"PING"}, [&](Reply) {
      finished.push_back("PING");
      waiter.wake();
    });
    co_await waiter.until([&] { return finished.size() == 4; });
    router.stop();

    // Without a replica the INCRs wait 1.5 s for one; the PING, sent after them, does not.
    if (!with_replica) CHECK(finished.front() == "PING");
    for (const Reply& reply : replicated) {
      if (with_replica) {
        CHECK(reply.type == Reply::Type::integer);
      } else {
        CHECK(reply.is_error());
        CHECK(reply.text.find("not known to be on a replica within 1500 ms") != std::string::npos);
      }
    }
    CHECK(master.query({"GET", "n"}) == "3");  // the master has them either way
    // One WAIT covered all three: they went out together, before its first reply came.
    CHECK(master.query({"INFO", "commandstats"}).find("cmdstat_wait:calls=1,") !=
          std::string::npos);
  });
}

}  // namespace

TEST_CASE("commands waiting for a missing replica hold up neither other commands nor each other") {
  replicated_commands(false);
}

TEST_CASE("commands waiting for a replica are answered once it has them, one WAIT for several") {
  replicated_commands(true);
}

TEST_CASE("ASK to a master with no slot of its own, not met before, is followed every time") {
  chat::test::RedisCluster cluster(3, 0);
  RedisProcess& source = cluster.node(0);
  const std::string tag = cluster.key_served_by(source);
  const std::string slot = std::to_string(key_slot(tag));
  RedisProcess& added = cluster.add_empty_master();
  // The slot is on its way from source to the new master; keys not on the source yet are asked
  // for at the new one.
  REQUIRE(added.query({"CLUSTER", "SETSLOT", slot, "IMPORTING", cluster.id_of(source)}) == "OK");
  REQUIRE(source.query({"CLUSTER", "SETSLOT", slot, "MIGRATING", cluster.id_of(added)}) == "OK");

  constexpr int writes = 10;
  chat::test::run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    RouterOptions options = router_options(source);
    options.refresh_interval = std::chrono::milliseconds(50);  // it reads the map between writes
    Router router(io, options);
    EventWaiter waiter(io);
    router.on_state = [&](bool) { waiter.wake(); };
    router.start();
    co_await waiter.until([&] { return router.ready(); });

    asio::steady_timer pause(io);
    for (int i = 0; i < writes; ++i) {
      std::optional<Reply> answer;
      const std::string key = tag + std::to_string(i);
      router.command(key, {"SET", key, "v"}, [&](Reply reply) {
        answer = std::move(reply);
        waiter.wake();
      });
      co_await waiter.until([&] { return answer.has_value(); });
      CAPTURE(answer->describe());
      CHECK(answer->text == "OK");
      // Several map refreshes between writes: the new master is in none of the maps they read.
      pause.expires_after(options.refresh_interval * 3);
      co_await pause.async_wait(asio::use_awaitable);
    }
    router.stop();
  });
  CHECK(first_line(added.query({"CLUSTER", "COUNTKEYSINSLOT", slot})) == std::to_string(writes));
  CHECK(source.query({"CLUSTER", "COUNTKEYSINSLOT", slot}) == "0");
}
