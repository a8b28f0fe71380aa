// A client that stops reading is dropped as a slow consumer; the room goes on at full speed.
#include <doctest/doctest.h>

#include <string>

#include "slow_consumer_support.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TestClient;
using chat::test::TestServer;

TEST_CASE(
    "a client that stops reading is disconnected as SLOW_CONSUMER and the others get everything") {
  TestServer server(test::small_outboxes());

  auto sender = TestClient::connect_as(server.port(), "sender");
  auto reader = TestClient::connect_as(server.port(), "reader");
  auto sloth = TestClient::connect_as(server.port(), "sloth");
  sender.join("#busy");
  reader.join("#busy");
  REQUIRE(sloth.join("#busy").has_join_reply());

  // Sloth never reads again.
  std::uint64_t sent = test::send_until_slow_consumer(server, sender, reader, "#busy");
  CHECK(server.stats().disconnects_for(v1::Disconnect::SLOW_CONSUMER) == 1);
  CHECK(server.stats().backlog_collapses.load() >= 1);  // first its backlog became a Gap

  // The room goes on: more messages, and the reader sees every one without a gap.
  for (int i = 0; i < 100; ++i) {
    const auto ack = sender.say("#busy", "after");
    REQUIRE(ack.ack().seq() == sent + 1);
    sent = ack.ack().seq();
    REQUIRE(reader.wait_for(
        [&](const auto& f) { return f.has_room_message() && f.room_message().seq() == sent; }));
    for (const auto& skipped : reader.skipped()) CHECK_FALSE(skipped.has_gap());
    reader.skipped().clear();
  }
  // Sloth, reading at last, finds its connection closed.
  sloth.wait_closed();
  CHECK(sloth.closed());
  // The room no longer counts it.
  const auto left = reader.wait_for(
      [](const auto& f) { return f.has_member_left() && f.member_left().nick() == "sloth"; });
  REQUIRE(left);
  CHECK(left->member_left().reason() == "slow consumer");
  v1::ClientFrame who;
  who.mutable_who()->set_room("#busy");
  const auto members = reader.reply_to(reader.send(who));
  if (!members) FAIL("no reply to Who; closed=" << reader.closed());
  CHECK(members->member_list().nicks_size() == 2);
}
