// chat::Client against a real server in the test process: every call, and what it promises across
// a lost connection (reconnect, resume without gap or duplicate, resend stored once).
#include <doctest/doctest.h>

#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>
#include <set>
#include <vector>

#include "client.hpp"
#include "coroutine_test.hpp"
#include "tcp_proxy.hpp"
#include "test_server.hpp"

using namespace chat;
using namespace chat::client;
using chat::test::run_coroutine_test;
using chat::test::TcpProxy;
using chat::test::TestServer;

namespace {

std::shared_ptr<Client> make_client(asio::io_context& io, std::uint16_t port, std::string nick) {
  ClientOptions options;
  options.port = port;
  options.nick = std::move(nick);
  options.backoff.initial = std::chrono::milliseconds(20);
  options.backoff.max = std::chrono::milliseconds(200);
  return Client::create(io.get_executor(), options);
}

asio::awaitable<std::shared_ptr<Client>> connected(asio::io_context& io, std::uint16_t port,
                                                   std::string nick) {
  auto client = make_client(io, port, std::move(nick));
  auto welcome = co_await client->connect();
  REQUIRE_MESSAGE(welcome.ok(), welcome.failure().message);
  co_return client;
}

// alice talks through the proxy, bob straight to the server; both are in lobby.
asio::awaitable<std::pair<std::shared_ptr<Client>, std::shared_ptr<Client>>>
alice_via_proxy_and_bob(asio::io_context& io, TcpProxy& proxy, std::uint16_t server_port) {
  auto alice = co_await connected(io, proxy.port(), "alice");
  auto bob = co_await connected(io, server_port, "bob");
  REQUIRE((co_await alice->join("lobby", 0)).ok());
  REQUIRE((co_await bob->join("lobby", 0)).ok());
  co_return std::pair{alice, bob};
}

// Events until one matches (the others are handed to `seen`, if given).
asio::awaitable<ClientEvent> next_matching(
    Client& client, const std::function<bool(const ClientEvent&)>& match,
    const std::function<void(const ClientEvent&)>& seen = {}) {
  for (;;) {
    ClientEvent event = co_await client.next_event();
    if (match(event)) co_return event;
    if (seen) seen(event);
    const auto* connection = std::get_if<ConnectionEvent>(&event);
    REQUIRE_MESSAGE(!(connection && connection->state == ConnectionState::closed),
                    "the client closed while a test waited for an event");
  }
}

// Polls a condition that no event announces (a spawned call's outcome); the test's deadline
// bounds it.
asio::awaitable<void> until(const std::function<bool()>& condition) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!condition()) {
    timer.expires_after(std::chrono::milliseconds(2));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

void rethrow(std::exception_ptr error) {
  if (error) std::rethrow_exception(error);
}

bool is_frame(const ClientEvent& event, v1::ServerFrame::PayloadCase payload) {
  const auto* frame = std::get_if<v1::ServerFrame>(&event);
  return frame && frame->payload_case() == payload;
}

bool is_state(const ClientEvent& event, ConnectionState state) {
  const auto* connection = std::get_if<ConnectionEvent>(&event);
  return connection && connection->state == state;
}

// Collects room messages (live, replayed or recovered) until `count` distinct ones arrived.
struct Collected {
  std::vector<std::uint64_t> seqs;  // in arrival order, duplicates included
  void add(const ClientEvent& event, const std::string& room) {
    if (const auto* frame = std::get_if<v1::ServerFrame>(&event)) {
      if (frame->has_room_message() && frame->room_message().room() == room) {
        seqs.push_back(frame->room_message().seq());
      }
    } else if (const auto* recovered = std::get_if<RecoveredEvent>(&event)) {
      for (const auto& message : recovered->messages) seqs.push_back(message.seq());
    }
  }
};

asio::awaitable<void> send_numbered(Client& client, const std::string& room, int first, int last) {
  for (int i = first; i <= last; ++i) {
    auto ack = co_await client.send(room, "message " + std::to_string(i));
    REQUIRE_MESSAGE(ack.ok(), ack.failure().message);
  }
}

std::vector<std::uint64_t> one_to(std::uint64_t n) {
  std::vector<std::uint64_t> seqs;
  for (std::uint64_t i = 1; i <= n; ++i) seqs.push_back(i);
  return seqs;
}

}  // namespace

TEST_CASE("the client library does every call against a real server") {
  TestServer server;
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await connected(io, server.port(), "alice");
    auto bob = co_await connected(io, server.port(), "bob");
    CHECK(alice->nick() == "alice");
    CHECK(alice->welcome().limits().max_text_bytes() > 0);

    auto joined = co_await alice->join("lobby");
    REQUIRE(joined.ok());
    CHECK(joined.value().room() == "lobby");
    REQUIRE((co_await bob->join("lobby")).ok());
    CHECK(alice->joined_rooms() == std::vector<std::string>{"lobby"});

    auto who = co_await alice->who("lobby");
    REQUIRE(who.ok());
    CHECK(who.value().nicks_size() == 2);
    auto rooms = co_await alice->rooms();
    REQUIRE(rooms.ok());
    REQUIRE(rooms.value().rooms_size() == 1);
    CHECK(rooms.value().rooms(0).member_count() == 2);

    REQUIRE((co_await alice->set_topic("lobby", "testing")).ok());
    auto topic = co_await next_matching(
        *bob, [](const ClientEvent& e) { return is_frame(e, v1::ServerFrame::kTopicChanged); });
    CHECK(std::get<v1::ServerFrame>(topic).topic_changed().topic() == "testing");

    auto ack = co_await alice->send("lobby", "hello bob");
    REQUIRE(ack.ok());
    CHECK(ack.value().seq() == 1);
    CHECK(alice->unacknowledged() == 0);
    auto heard = co_await next_matching(
        *bob, [](const ClientEvent& e) { return is_frame(e, v1::ServerFrame::kRoomMessage); });
    CHECK(std::get<v1::ServerFrame>(heard).room_message().text() == "hello bob");

    auto action = co_await alice->send("lobby", "waves", true);
    REQUIRE(action.ok());
    v1::History query;
    query.set_room("lobby");
    query.set_latest(true);
    query.set_limit(10);
    auto history = co_await alice->history(query);
    REQUIRE(history.ok());
    REQUIRE(history.value().messages_size() == 2);
    CHECK(history.value().messages(1).action());

    auto direct = co_await alice->send_direct("bob", "psst");
    REQUIRE(direct.ok());
    auto whisper = co_await next_matching(
        *bob, [](const ClientEvent& e) { return is_frame(e, v1::ServerFrame::kDirectMessage); });
    CHECK(std::get<v1::ServerFrame>(whisper).direct_message().client_msg_id() == direct.value());

    auto own = co_await alice->send("lobby", "tpyo");
    REQUIRE(own.ok());
    REQUIRE((co_await alice->edit("lobby", own.value().seq(), "typo")).ok());
    auto edited = co_await next_matching(
        *bob, [](const ClientEvent& e) { return is_frame(e, v1::ServerFrame::kMessageEdited); });
    CHECK(std::get<v1::ServerFrame>(edited).message_edited().text() == "typo");
    auto not_hers = co_await bob->edit("lobby", own.value().seq(), "mine now");
    CHECK(not_hers.failure().code == v1::Error::FORBIDDEN);
    REQUIRE((co_await alice->remove("lobby", own.value().seq())).ok());
    co_await next_matching(
        *bob, [](const ClientEvent& e) { return is_frame(e, v1::ServerFrame::kMessageDeleted); });
    v1::History before;
    before.set_room("lobby");
    before.set_before_seq(own.value().seq() + 1);
    before.set_limit(1);
    auto deleted = co_await alice->history(before);
    REQUIRE(deleted.ok());
    REQUIRE(deleted.value().messages_size() == 1);
    CHECK(deleted.value().messages(0).deleted());
    CHECK(deleted.value().has_more());

    auto guest_marker = co_await alice->mark_read("lobby", 1);
    CHECK(guest_marker.failure().code == v1::Error::FORBIDDEN);
    REQUIRE((co_await alice->register_nick("correct horse")).ok());
    REQUIRE((co_await alice->mark_read("lobby", own.value().seq())).ok());

    REQUIRE((co_await bob->set_nick("robert")).ok());
    CHECK(bob->nick() == "robert");
    REQUIRE((co_await alice->leave("lobby")).ok());
    CHECK(alice->joined_rooms().empty());
    auto taken = co_await bob->set_nick("alice");  // registered: only with its password
    CHECK(taken.failure().code == v1::Error::NICK_IN_USE);
    alice->typing("lobby");  // not in it any more: ignored by the server, no reply expected

    alice->close();
    bob->close();
  });
}

TEST_CASE("the client library reports refusals as failures with the server's code") {
  TestServer server;
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await connected(io, server.port(), "alice");
    auto bad_room = co_await alice->join("no spaces");
    REQUIRE_FALSE(bad_room.ok());
    CHECK(bad_room.failure().code == v1::Error::INVALID_NAME);
    auto not_joined = co_await alice->send("elsewhere", "hi");
    REQUIRE_FALSE(not_joined.ok());
    CHECK(not_joined.failure().code == v1::Error::NOT_IN_ROOM);
    REQUIRE((co_await alice->join("lobby")).ok());
    auto too_long = co_await alice->send("lobby", std::string(100'000, 'x'));
    REQUIRE_FALSE(too_long.ok());
    CHECK(too_long.failure().code == v1::Error::TEXT_TOO_LONG);
    auto nobody = co_await alice->send_direct("nobody", "hi");
    REQUIRE_FALSE(nobody.ok());
    CHECK(nobody.failure().code == v1::Error::NOT_FOUND);

    auto twin = make_client(io, server.port(), "ALICE");
    auto refused = co_await twin->connect();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.failure().code == v1::Error::NICK_IN_USE);
    CHECK(twin->closed());
    auto closed = co_await twin->next_event();
    CHECK(is_state(closed, ConnectionState::connecting));

    auto nowhere = make_client(io, 1, "carol");  // nothing listens on port 1
    auto unreachable = co_await nowhere->connect();
    REQUIRE_FALSE(unreachable.ok());
    CHECK(unreachable.failure().code == v1::Error::UNAVAILABLE);
    alice->close();
    auto after_close = co_await alice->who("lobby");
    CHECK(after_close.failure().code == v1::Error::UNAVAILABLE);
  });
}

TEST_CASE("a dropped client reconnects and resumes with no gap and no duplicate") {
  TestServer server;
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    TcpProxy proxy(io, server.port());
    auto [alice, bob] = co_await alice_via_proxy_and_bob(io, proxy, server.port());
    Collected got;
    co_await send_numbered(*bob, "lobby", 1, 5);
    while (got.seqs.size() < 5) got.add(co_await alice->next_event(), "lobby");

    proxy.refuse_new = true;  // alice stays away while the room goes on
    proxy.drop_all();
    co_await next_matching(
        *alice, [](const ClientEvent& e) { return is_state(e, ConnectionState::reconnecting); });
    co_await send_numbered(*bob, "lobby", 6, 15);
    proxy.refuse_new = false;
    auto resumed = co_await next_matching(
        *alice, [](const ClientEvent& e) { return std::holds_alternative<ResumedEvent>(e); },
        [&](const ClientEvent& e) { got.add(e, "lobby"); });
    CHECK(std::get<ResumedEvent>(resumed).missed == 10);
    co_await send_numbered(*bob, "lobby", 16, 20);
    while (got.seqs.size() < 20) got.add(co_await alice->next_event(), "lobby");
    CHECK(got.seqs == one_to(20));
    CHECK(proxy.accepted() >= 2);
    alice->close();
    bob->close();
  });
}

TEST_CASE("a send whose Ack was lost completes after the reconnect and is stored once") {
  TestServer server;
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    TcpProxy proxy(io, server.port());
    auto [alice, bob] = co_await alice_via_proxy_and_bob(io, proxy, server.port());

    proxy.swallow_replies = true;  // the server stores the message; its Ack never arrives
    std::optional<Result<v1::Ack>> outcome;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> { outcome = co_await alice->send("lobby", "only once"); },
        rethrow);
    auto stored = co_await next_matching(
        *bob, [](const ClientEvent& e) { return is_frame(e, v1::ServerFrame::kRoomMessage); });
    const std::uint64_t seq = std::get<v1::ServerFrame>(stored).room_message().seq();
    CHECK_FALSE(outcome);
    CHECK(alice->unacknowledged() == 1);

    proxy.drop_all();
    proxy.swallow_replies = false;
    co_await until([&] { return outcome.has_value(); });
    REQUIRE(outcome->ok());
    CHECK(outcome->value().seq() == seq);

    proxy.swallow_requests = true;  // now the message itself is lost on the way
    outcome.reset();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> { outcome = co_await alice->send("lobby", "sent again"); },
        rethrow);
    asio::steady_timer settle(io, std::chrono::milliseconds(50));  // let the send reach the proxy
    co_await settle.async_wait(asio::use_awaitable);
    proxy.drop_all();
    proxy.swallow_requests = false;
    co_await until([&] { return outcome.has_value(); });
    REQUIRE(outcome->ok());
    CHECK(outcome->value().seq() == seq + 1);
    CHECK_FALSE(outcome->value().duplicate());

    v1::History query;
    query.set_room("lobby");
    query.set_latest(true);
    query.set_limit(50);
    auto history = co_await bob->history(query);
    REQUIRE(history.ok());
    REQUIRE(history.value().messages_size() == 2);
    CHECK(history.value().messages(0).text() == "only once");
    CHECK(history.value().messages(1).text() == "sent again");
    alice->close();
    bob->close();
  });
}

TEST_CASE("a client dropped as a slow consumer resumes and misses nothing") {
  auto config = chat::test::test_config();
  config.outbox_soft_bytes = 16 * 1024;
  config.outbox_hard_bytes = 64 * 1024;
  config.history_in_memory = 5000;  // resume and gap recovery need what was sent
  config.max_history = 5000;
  TestServer server(config);
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    TcpProxy proxy(io, server.port());
    auto [alice, bob] = co_await alice_via_proxy_and_bob(io, proxy, server.port());

    proxy.set_stalled(true);  // alice stops reading; the server's queue for her fills
    const std::string text(3000, 'x');
    int sent = 0;
    while (server.stats().disconnects_for(v1::Disconnect::SLOW_CONSUMER) == 0 && sent < 4000) {
      REQUIRE((co_await bob->send("lobby", text)).ok());
      ++sent;
    }
    CHECK(server.stats().disconnects_for(v1::Disconnect::SLOW_CONSUMER) >= 1);
    proxy.set_stalled(false);
    Collected got;
    std::set<std::uint64_t> distinct;
    while (distinct.size() < static_cast<std::size_t>(sent)) {
      got.add(co_await alice->next_event(), "lobby");
      distinct.insert(got.seqs.begin(), got.seqs.end());
    }
    // Messages recovered after a Gap arrive after later live ones: complete, each exactly once.
    CHECK(got.seqs.size() == static_cast<std::size_t>(sent));
    CHECK(std::vector<std::uint64_t>(distinct.begin(), distinct.end()) ==
          one_to(static_cast<std::uint64_t>(sent)));
    alice->close();
    bob->close();
  });
}
