// The web listener's WebSocket sessions with a real server over real sockets: the same rooms as
// the chat port, the same limits and policies, closes with the status for their reason.
#include <doctest/doctest.h>

#include <string>

#include "http_get.hpp"
#include "slow_consumer_support.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TestClient;
using chat::test::TestServer;

namespace {

server::ServerConfig web_config() {
  auto config = test::test_config();
  config.web = "127.0.0.1:0";
  return config;
}

bool is_message(const v1::ServerFrame& frame, const std::string& text) {
  return frame.has_room_message() && frame.room_message().text() == text;
}

}  // namespace

TEST_CASE("WebSocket and chat-port clients share rooms: messages, presence and history") {
  TestServer server(web_config());
  REQUIRE(server.web_port() != 0);
  auto tcp = TestClient::connect_as(server.port(), "tess");
  auto web = TestClient::websocket_as(server.web_port(), "wendy");
  REQUIRE(tcp.join("lobby").has_join_reply());
  REQUIRE(web.join("lobby").has_join_reply());
  CHECK(tcp.wait_for([](const v1::ServerFrame& f) {
    return f.has_member_joined() && f.member_joined().nick() == "wendy";
  }));
  const auto from_web = web.say("lobby", "hello from the web", 1);
  REQUIRE(from_web.has_ack());
  CHECK(tcp.wait_for([](const auto& f) { return is_message(f, "hello from the web"); }));
  REQUIRE(tcp.say("lobby", "hello from the terminal", 1).has_ack());
  const auto seen =
      web.wait_for([](const auto& f) { return is_message(f, "hello from the terminal"); });
  REQUIRE(seen);
  CHECK(seen->room_message().seq() == from_web.ack().seq() + 1);

  // A second WebSocket client joins and gets the history the others made.
  auto late = TestClient::websocket_as(server.web_port(), "wilma");
  v1::ClientFrame join;
  join.mutable_join()->set_room("lobby");
  join.mutable_join()->set_history(10);
  REQUIRE(late.reply_to(late.send(join)));
  CHECK(late.wait_for([](const auto& f) { return is_message(f, "hello from the terminal"); }));
}

TEST_CASE("a WebSocket client that stops reading is closed with 1008 and the room goes on") {
  TestServer server(test::small_outboxes(web_config()));
  auto sender = TestClient::connect_as(server.port(), "sender");
  auto reader = TestClient::websocket_as(server.web_port(), "reader");
  auto sloth = TestClient::websocket_as(server.web_port(), "sloth");
  sender.join("#busy");
  reader.join("#busy");
  REQUIRE(sloth.join("#busy").has_join_reply());
  test::send_until_slow_consumer(server, sender, reader, "#busy");
  CHECK(server.stats().disconnects_for(v1::Disconnect::SLOW_CONSUMER) == 1);
  const auto after = sender.say("#busy", "after");
  REQUIRE(after.has_ack());
  CHECK(reader.wait_for([](const auto& f) { return is_message(f, "after"); }));
  const auto disconnect = sloth.wait_closed();
  CHECK(sloth.closed());
  // Its backlog was dropped, but the Disconnect and the close frame still come last.
  CHECK(sloth.close_code() == 1008);
  REQUIRE(disconnect);
  CHECK(disconnect->reason() == v1::Disconnect::SLOW_CONSUMER);
}

TEST_CASE("WebSocket sessions keep the chat port's timeouts and rate limits, closing with 1008") {
  auto config = web_config();
  config.handshake_timeout_ms = 300;
  config.messages_per_second = 5;
  config.message_burst = 2;
  config.rate_limit_strikes = 3;
  TestServer server(config);
  SUBCASE("no Hello within the handshake timeout") {
    auto silent = TestClient::websocket(server.web_port());
    const auto disconnect = silent.wait_closed();
    REQUIRE(disconnect);
    CHECK(disconnect->reason() == v1::Disconnect::HANDSHAKE_TIMEOUT);
    CHECK(silent.close_code() == 1008);
  }
  SUBCASE("sending past the rate limit") {
    auto hasty = TestClient::websocket_as(server.web_port(), "hasty");
    REQUIRE(hasty.join("lobby").has_join_reply());
    v1::ClientFrame send;
    send.mutable_send()->set_room("lobby");
    send.mutable_send()->set_text("again");
    for (int i = 0; i < 50 && !hasty.closed(); ++i) hasty.send(send);
    const auto disconnect = hasty.wait_closed();
    REQUIRE(disconnect);
    CHECK(disconnect->reason() == v1::Disconnect::RATE_LIMITED);
    CHECK(hasty.close_code() == 1008);
  }
}

TEST_CASE("the web listener counts against the connection limits: a refused browser gets 503") {
  auto config = web_config();
  config.max_connections = 1;
  TestServer server(config);
  auto first = TestClient::websocket_as(server.web_port(), "first");
  const auto refused = test::http_get(server.web_port(), "/");
  CHECK(refused.status == 503);
  REQUIRE(first.join("lobby").has_join_reply());  // the admitted one goes on
}

TEST_CASE("/metrics counts open connections by transport") {
  auto config = web_config();
  config.http = "127.0.0.1:0";
  TestServer server(config);
  auto tcp = TestClient::connect_as(server.port(), "tess");
  auto web = TestClient::websocket_as(server.web_port(), "wendy");
  const auto page = test::http_get(server.server().http_port(), "/metrics");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("chat_transport_connections{transport=\"tcp\"} 1\n") != std::string::npos);
  CHECK(page.body.find("chat_transport_connections{transport=\"ws\"} 1\n") != std::string::npos);
  CHECK(page.body.find("chat_transport_connections{transport=\"ws-json\"} 0\n") !=
        std::string::npos);
}

TEST_CASE("a server shutting down closes WebSocket sessions with 1001 after SERVER_SHUTDOWN") {
  TestServer server(web_config());
  auto web = TestClient::websocket_as(server.web_port(), "wendy");
  server.server().stop();
  const auto disconnect = web.wait_closed();
  REQUIRE(disconnect);
  CHECK(disconnect->reason() == v1::Disconnect::SERVER_SHUTDOWN);
  CHECK(web.close_code() == 1001);
}
