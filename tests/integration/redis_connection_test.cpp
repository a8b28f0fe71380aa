// The Redis connection against a real redis-server: pipelined commands answered in order,
// binary-safe values, error replies, pub/sub (and shard channels a cluster refuses), and losing
// Redis and getting it back.
#include <doctest/doctest.h>

#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coroutine_test.hpp"
#include "event_waiter.hpp"
#include "redis_cluster_process.hpp"
#include "redis_connection.hpp"
#include "redis_process.hpp"

namespace {

using chat::server::redis::Connection;
using chat::server::redis::ConnectionOptions;
using chat::server::redis::Reply;

ConnectionOptions options_for(const chat::test::RedisProcess& redis, bool subscriber = false) {
  ConnectionOptions options;
  options.address = {"127.0.0.1", redis.port()};
  options.min_backoff = std::chrono::milliseconds(20);
  options.max_backoff = std::chrono::milliseconds(200);
  options.subscriber = subscriber;
  return options;
}

using Waiter = chat::test::EventWaiter;

// (Arguments one by one: GCC 12 miscompiles braced lists inside co_await expressions.)
template <typename... Args>
asio::awaitable<Reply> call(Connection& connection, Waiter& waiter, const Args&... args) {
  std::optional<Reply> result;
  connection.command(std::vector<std::string>{std::string(args)...}, [&](Reply reply) {
    result = std::move(reply);
    waiter.wake();
  });
  co_await waiter.until([&] { return result.has_value(); });
  co_return std::move(*result);
}

}  // namespace

TEST_CASE("Redis commands are pipelined and answered in order, binary-safe") {
  chat::test::RedisProcess redis;
  chat::test::run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    Connection connection(io, options_for(redis));
    Waiter waiter(io);
    connection.on_state = [&](bool) { waiter.wake(); };
    connection.start();
    co_await waiter.until([&] { return connection.connected(); });

    std::vector<Reply> replies;
    for (int i = 0; i < 100; ++i) {
      connection.command({"INCR", "counter"}, [&](Reply reply) {
        replies.push_back(std::move(reply));
        waiter.wake();
      });
    }
    co_await waiter.until([&] { return replies.size() == 100; });
    for (int i = 0; i < 100; ++i) {
      CHECK(replies[static_cast<std::size_t>(i)].type == Reply::Type::integer);
      CHECK(replies[static_cast<std::size_t>(i)].integer == i + 1);
    }

    const std::string binary("a\0b\r\n$3\r\n", 10);
    CHECK((co_await call(connection, waiter, "SET", "key", binary)).text == "OK");
    const Reply got = co_await call(connection, waiter, "GET", "key");
    CHECK(got.type == Reply::Type::string);
    CHECK(got.text == binary);
    CHECK((co_await call(connection, waiter, "GET", "missing")).is_nil());
    const Reply bad = co_await call(connection, waiter, "NO-SUCH-COMMAND");
    CHECK(bad.is_error());
    CHECK(bad.text.find("unknown command") != std::string::npos);
    const Reply wrong_type = co_await call(connection, waiter, "LPUSH", "key", "x");
    CHECK(wrong_type.text.find("WRONGTYPE") != std::string::npos);
    const Reply array = co_await call(connection, waiter, "MGET", "key", "missing");
    REQUIRE(array.elements.size() == 2);
    CHECK(array.elements[1].is_nil());
    connection.stop();
  });
}

TEST_CASE("Losing Redis fails commands clearly, and the connection comes back by itself") {
  chat::test::RedisProcess redis;
  chat::test::run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    Connection connection(io, options_for(redis));
    Connection subscriber(io, options_for(redis, true));
    Waiter waiter(io);
    std::vector<std::string> messages;
    int subscriber_ups = 0;
    connection.on_state = [&](bool) { waiter.wake(); };
    subscriber.on_state = [&](bool up) {
      subscriber_ups += up ? 1 : 0;
      waiter.wake();
    };
    subscriber.on_message = [&](const std::string& channel, const std::string& payload) {
      messages.push_back(channel + "=" + payload);
      waiter.wake();
    };
    subscriber.subscribe("room:a");
    connection.start();
    subscriber.start();
    co_await waiter.until([&] { return connection.connected() && subscriber.connected(); });

    // "Up" means the SUBSCRIBE is sent, not yet done: publish until Redis counts a receiver.
    while ((co_await call(connection, waiter, "SPUBLISH", "room:a", "first")).integer != 1) {
    }
    co_await waiter.until([&] { return !messages.empty(); });
    CHECK(messages.front() == "room:a=first");

    redis.kill();
    co_await waiter.until([&] { return !connection.connected() && !subscriber.connected(); });
    const Reply refused = co_await call(connection, waiter, "PING");
    CHECK(refused.is_error());
    CHECK(refused.text.find("redis unavailable") != std::string::npos);

    redis.restart();
    co_await waiter.until([&] { return connection.connected() && subscriber_ups == 2; });
    CHECK((co_await call(connection, waiter, "PING")).text == "PONG");
    messages.clear();
    // Re-subscribed by itself after the reconnect.
    while ((co_await call(connection, waiter, "SPUBLISH", "room:a", "again")).integer != 1) {
    }
    co_await waiter.until([&] { return !messages.empty(); });
    CHECK(messages.front() == "room:a=again");

    subscriber.unsubscribe("room:a");
    connection.stop();
    subscriber.stop();
  });
}

TEST_CASE("a Redis still loading its data does not count as up until it answers PING") {
  chat::test::run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    // A stand-in for Redis: the first connection is told LOADING, the next one is served.
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    ConnectionOptions options;
    options.address = {"127.0.0.1", acceptor.local_endpoint().port()};
    options.min_backoff = std::chrono::milliseconds(20);
    Connection connection(io, options);
    Waiter waiter(io);
    int accepted_when_up = 0;
    int accepted = 0;
    connection.on_state = [&](bool up) {
      if (up) accepted_when_up = accepted;
      waiter.wake();
    };
    connection.start();

    std::string in;
    auto first = co_await acceptor.async_accept(asio::use_awaitable);
    ++accepted;
    co_await asio::async_read_until(first, asio::dynamic_buffer(in), "PING\r\n",
                                    asio::use_awaitable);
    CHECK_FALSE(connection.connected());
    const Reply early = co_await call(connection, waiter, "GET", "key");
    CHECK(early.is_error());  // not sent to a Redis that does not serve
    const std::string loading = "-LOADING Redis is loading the dataset in memory\r\n";
    co_await asio::async_write(first, asio::buffer(loading), asio::use_awaitable);

    auto second = co_await acceptor.async_accept(asio::use_awaitable);
    ++accepted;
    in.clear();
    co_await asio::async_read_until(second, asio::dynamic_buffer(in), "PING\r\n",
                                    asio::use_awaitable);
    CHECK_FALSE(connection.connected());
    co_await asio::async_write(second, asio::buffer(std::string("+PONG\r\n")), asio::use_awaitable);
    co_await waiter.until([&] { return connection.connected(); });
    CHECK(accepted_when_up == 2);

    std::optional<Reply> got;
    connection.command({"GET", "key"}, [&](Reply reply) {
      got = std::move(reply);
      waiter.wake();
    });
    in.clear();
    co_await asio::async_read_until(second, asio::dynamic_buffer(in), "key\r\n",
                                    asio::use_awaitable);
    co_await asio::async_write(second, asio::buffer(std::string("$5\r\nvalue\r\n")),
                               asio::use_awaitable);
    co_await waiter.until([&] { return got.has_value(); });
    CHECK(got->text == "value");
    connection.stop();
  });
}

TEST_CASE("a shard subscription the cluster refuses is reported as dropped, the others stand") {
  chat::test::RedisCluster cluster(3, 0);
  chat::test::RedisProcess& first = cluster.node(0);
  chat::test::RedisProcess& second = cluster.node(1);
  const std::string here = cluster.key_served_by(first);
  const std::string elsewhere = cluster.key_served_by(second);
  const std::string elsewhere_too = elsewhere + "too";  // the same slot: the tag decides
  chat::test::run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    ConnectionOptions options;
    options.address = {"127.0.0.1", first.port()};
    options.subscriber = true;
    Connection connection(io, options);
    Waiter waiter(io);
    std::set<std::string> subscribed;
    std::set<std::string> dropped;
    std::vector<std::string> messages;
    connection.on_state = [&](bool) { waiter.wake(); };
    connection.on_subscribed = [&](const std::string& channel) {
      subscribed.insert(channel);
      waiter.wake();
    };
    connection.on_dropped = [&](const std::string& channel) {
      dropped.insert(channel);
      waiter.wake();
    };
    connection.on_message = [&](const std::string&, const std::string& payload) {
      messages.push_back(payload);
      waiter.wake();
    };
    connection.start();
    co_await waiter.until([&] { return connection.connected(); });

    connection.subscribe(elsewhere);
    connection.subscribe(here);
    connection.subscribe(elsewhere_too);
    co_await waiter.until([&] { return subscribed.size() + dropped.size() == 3; });
    CHECK(subscribed == std::set<std::string>{here});
    CHECK(dropped == std::set<std::string>{elsewhere, elsewhere_too});
    CHECK(connection.subscribed(here));
    CHECK_FALSE(connection.subscribed(elsewhere));

    CHECK(first.query({"SPUBLISH", here, "still here"}) == "1");
    co_await waiter.until([&] { return !messages.empty(); });
    CHECK(messages == std::vector<std::string>{"still here"});
    connection.stop();
  });
}
