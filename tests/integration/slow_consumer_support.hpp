#pragma once
// Drives a room until the server drops a member that stopped reading as a slow consumer.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "test_client.hpp"
#include "test_server.hpp"

namespace chat::test {

// A config whose outboxes fill after some 64 KiB.
inline server::ServerConfig small_outboxes(server::ServerConfig config = test_config()) {
  config.outbox_soft_bytes = 16 * 1024;
  config.outbox_hard_bytes = 64 * 1024;
  return config;
}

// Sends 1 KiB messages to room until the server gives up on a member, in lockstep with reader
// (so the reader never falls behind), at most 20,000. Returns the last sequence sent.
inline std::uint64_t send_until_slow_consumer(TestServer& server, TestClient& sender,
                                              TestClient& reader, const std::string& room) {
  const std::string text(1024, 'z');
  std::uint64_t sent = 0;
  while (server.stats().disconnects_for(v1::Disconnect::SLOW_CONSUMER) == 0 && sent < 20000) {
    const auto ack = sender.say(room, text);
    REQUIRE(ack.has_ack());
    sent = ack.ack().seq();
    REQUIRE(reader.wait_for(
        [&](const auto& f) { return f.has_room_message() && f.room_message().seq() == sent; }));
    reader.skipped().clear();
    sender.skipped().clear();
  }
  return sent;
}

}  // namespace chat::test
