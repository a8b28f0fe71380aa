// What chat.proto promises a client, checked from the client's side over real sockets: requests
// take effect in order, a half-closed or disconnected client gets every answer it is owed,
// duplicates cost nothing, bad strings fail one request, and the error codes are the documented
// ones.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "names.hpp"
#include "store_support.hpp"
#include "support/varint.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TempDir;
using chat::test::TestClient;
using chat::test::TestServer;
using test::ask;
using test::error_code;
using test::make_request;
using test::seq_range;

namespace {

// Writes every frame in one write, so the server reads them together; returns their request ids.
std::vector<std::uint64_t> send_together(TestClient& client, std::vector<v1::ClientFrame> frames,
                                         std::uint64_t first_id = 1000) {
  std::string bytes;
  std::vector<std::uint64_t> ids;
  for (auto& frame : frames) {
    frame.set_request_id(first_id + ids.size());
    ids.push_back(frame.request_id());
    bytes += encode_frame(frame)->bytes;
  }
  client.write_raw(bytes);
  return ids;
}

v1::ClientFrame join(const std::string& room) {
  return make_request([&](v1::ClientFrame& f) {
    f.mutable_join()->set_room(room);
    f.mutable_join()->set_history(0);
  });
}

v1::ClientFrame send(const std::string& room, const std::string& text, std::uint64_t id = 0) {
  return make_request([&](v1::ClientFrame& f) {
    f.mutable_send()->set_room(room);
    f.mutable_send()->set_text(text);
    f.mutable_send()->set_client_msg_id(id);
  });
}

v1::ClientFrame ping(std::uint64_t nonce) {
  return make_request([&](v1::ClientFrame& f) { f.mutable_ping()->set_nonce(nonce); });
}

v1::ClientFrame send_direct(const std::string& to, const std::string& text, std::uint64_t id) {
  return make_request([&](v1::ClientFrame& f) {
    f.mutable_send_direct()->set_to(to);
    f.mutable_send_direct()->set_text(text);
    f.mutable_send_direct()->set_client_msg_id(id);
  });
}

v1::ClientFrame set_topic(const std::string& room, const std::string& topic) {
  return make_request([&](v1::ClientFrame& f) {
    f.mutable_set_topic()->set_room(room);
    f.mutable_set_topic()->set_topic(topic);
  });
}

// Every frame until the server closes the connection (Disconnect included), in arrival order.
std::vector<v1::ServerFrame> frames_until_closed(TestClient& client) {
  std::vector<v1::ServerFrame> frames;
  while (auto frame = client.next()) frames.push_back(*frame);
  return frames;
}

// The answer to a request id, also when it came (and was skipped) while waiting for another; an
// empty frame when none came.
v1::ServerFrame answer(TestClient& client, std::uint64_t id) {
  return test::event(client, [id](const v1::ServerFrame& f) { return f.request_id() == id; })
      .value_or(v1::ServerFrame());
}

const v1::ServerFrame* answer_to(const std::vector<v1::ServerFrame>& frames, std::uint64_t id) {
  for (const auto& frame : frames) {
    if (frame.request_id() == id) return &frame;
  }
  return nullptr;
}

// A frame whose serialized bytes put `bad` where the string `placeholder` was: protobuf does not
// let a string field hold invalid UTF-8, but the wire can.
std::string frame_with_bytes(const v1::ClientFrame& frame, const std::string& placeholder,
                             const std::string& bad) {
  REQUIRE(placeholder.size() == bad.size());
  std::string body;
  frame.SerializePartialToString(&body);
  const auto at = body.find(placeholder);
  REQUIRE(at != std::string::npos);
  body.replace(at, placeholder.size(), bad);
  return test::varint(static_cast<std::uint32_t>(body.size())) + body;
}

const std::string placeholder = "@PLACEHOLDER@";
const std::string invalid_utf8 = "bad \xc3\x28 \xff\xfe end";  // as long as the placeholder

}  // namespace

TEST_CASE("requests sent back to back take effect in order") {
  TestServer server;
  auto bob = TestClient::connect_as(server.port(), "bob");
  bob.join("#seq");

  SUBCASE("Join then Send (and Who) in one write") {
    auto alice = TestClient::connect_as(server.port(), "alice");
    const auto ids = send_together(
        alice, {join("#seq"), send("#seq", "right away"),
                make_request([](v1::ClientFrame& f) { f.mutable_who()->set_room("#seq"); })});
    CHECK(answer(alice, ids[0]).has_join_reply());
    CHECK(answer(alice, ids[1]).has_ack());
    const auto who = answer(alice, ids[2]);
    REQUIRE(who.has_member_list());
    CHECK(who.member_list().nicks_size() == 2);
  }
  SUBCASE("Hello, Join and Send in one write") {
    TestClient carol(server.port());
    const auto ids = send_together(
        carol, {test::hello_frame("carol"), join("#seq"), send("#seq", "first words")});
    CHECK(answer(carol, ids[0]).has_welcome());
    CHECK(answer(carol, ids[1]).has_join_reply());
    CHECK(answer(carol, ids[2]).has_ack());
  }
  SUBCASE("SetNick then Send: the message carries the new nick") {
    auto dave = TestClient::connect_as(server.port(), "dave");
    dave.join("#seq");
    const auto ids = send_together(
        dave, {make_request([](v1::ClientFrame& f) { f.mutable_set_nick()->set_nick("david"); }),
               send("#seq", "renamed")});
    CHECK(answer(dave, ids[0]).has_ok());
    CHECK(answer(dave, ids[1]).has_ack());
    const auto seen = bob.wait_for([](const auto& f) { return f.has_room_message(); });
    REQUIRE(seen);
    CHECK(seen->room_message().from() == "david");
  }
  SUBCASE("Hello resuming a room, then Send to it at once") {
    TestClient erin(server.port());
    auto hello = test::hello_frame("erin");
    auto* resume = hello.mutable_hello()->add_resume();
    resume->set_room("#seq");
    resume->set_last_seen_seq(0);
    const auto ids = send_together(erin, {hello, send("#seq", "back again")});
    CHECK(answer(erin, ids[0]).has_welcome());
    CHECK(answer(erin, ids[1]).has_ack());
  }
  SUBCASE("Join, Leave and Join again of one room in one write") {
    auto fay = TestClient::connect_as(server.port(), "fay");
    const auto ids = send_together(fay, {join("#twice"), make_request([](v1::ClientFrame& f) {
                                           f.mutable_leave()->set_room("#twice");
                                         }),
                                         join("#twice"), send("#twice", "still here")});
    CHECK(answer(fay, ids[0]).has_join_reply());
    CHECK(answer(fay, ids[1]).has_ok());
    CHECK(answer(fay, ids[2]).has_join_reply());
    CHECK(answer(fay, ids[3]).has_ack());
  }
}

TEST_CASE("Register then MarkRead in one write: the marker is kept") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#marks");
  REQUIRE(alice.say("#marks", "one").has_ack());
  const auto ids = send_together(alice, {make_request([](v1::ClientFrame& f) {
                                           f.mutable_register_()->set_password("correct horse");
                                         }),
                                         make_request([](v1::ClientFrame& f) {
                                           f.mutable_mark_read()->set_room("#marks");
                                           f.mutable_mark_read()->set_seq(1);
                                         })});
  CHECK(answer(alice, ids[0]).has_ok());
  CHECK(answer(alice, ids[1]).has_ok());
}

TEST_CASE("a client that sends Hello, Join and Ping, then half-closes, gets every answer") {
  TestServer server;
  for (int attempt = 0; attempt < 10; ++attempt) {
    CAPTURE(attempt);
    TestClient client(server.port());
    const auto ids = send_together(
        client, {test::hello_frame("half" + std::to_string(attempt)), join("#half"), ping(7)});
    client.shutdown_write();
    const auto frames = frames_until_closed(client);
    CHECK(client.closed());
    REQUIRE(answer_to(frames, ids[0]));
    CHECK(answer_to(frames, ids[0])->has_welcome());
    REQUIRE(answer_to(frames, ids[1]));
    CHECK(answer_to(frames, ids[1])->has_join_reply());
    REQUIRE(answer_to(frames, ids[2]));
    CHECK(answer_to(frames, ids[2])->pong().nonce() == 7);
  }
}

TEST_CASE("a client that sends Join, Send and Ping, then half-closes, gets every answer") {
  TestServer server;
  for (int attempt = 0; attempt < 10; ++attempt) {
    CAPTURE(attempt);
    auto client = TestClient::connect_as(server.port(), "late" + std::to_string(attempt));
    const auto ids = send_together(client, {join("#half"), send("#half", "bye", 1), ping(8)});
    client.shutdown_write();
    const auto frames = frames_until_closed(client);
    CHECK(client.closed());
    REQUIRE(answer_to(frames, ids[0]));
    CHECK(answer_to(frames, ids[0])->has_join_reply());
    REQUIRE(answer_to(frames, ids[1]));
    CHECK(answer_to(frames, ids[1])->has_ack());
    REQUIRE(answer_to(frames, ids[2]));
    CHECK(answer_to(frames, ids[2])->has_pong());
  }
}

TEST_CASE("a resend after a restart is a duplicate that uses up no sequence") {
  TempDir dir;
  auto config = test::sqlite_config(dir);
  config.history_in_memory = 2;  // the first message is only in the store after the restart
  config.history_on_join = 2;
  {
    TestServer server(config);
    auto alice = TestClient::connect_as(server.port(), "alice");
    alice.join("#dup");
    for (std::uint64_t id = 1; id <= 3; ++id)
      REQUIRE(alice.say("#dup", "m" + std::to_string(id), id).ack().seq() == id);
  }
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#dup");
  const auto resent = alice.say("#dup", "m1", 1);
  REQUIRE(resent.has_ack());
  CHECK(resent.ack().duplicate());
  CHECK(resent.ack().seq() == 1);
  const auto next = alice.say("#dup", "m4", 4);
  REQUIRE(next.has_ack());
  CHECK(next.ack().seq() == 4);
  std::vector<std::uint64_t> seqs;
  for (const auto& message : test::all_history(alice, "#dup")) seqs.push_back(message.seq());
  CHECK(seqs == seq_range(1, 4));
}

TEST_CASE("a direct message sent twice with one client_msg_id is delivered once") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  auto bob = TestClient::connect_as(server.port(), "bob");
  for (int copy = 0; copy < 2; ++copy) {
    CHECK(ask(bob, send_direct("alice", "only once", 77)).has_ok());
    const auto receipt = bob.wait_for([](const auto& f) { return f.has_direct_receipt(); });
    REQUIRE(receipt);
    CHECK(receipt->direct_receipt().kind() == v1::DirectReceiptEvent::DELIVERED);
  }
  CHECK(ask(bob, send_direct("alice", "another one", 78)).has_ok());
  // Alice's frames arrive in order: the second copy would come before the Pong.
  const auto pong = alice.reply_to(alice.send(ping(1)));
  REQUIRE(pong);
  int copies = 0;
  int others = 0;
  for (const auto& frame : alice.skipped()) {
    if (!frame.has_direct_message()) continue;
    (frame.direct_message().client_msg_id() == 77 ? copies : others) += 1;
  }
  CHECK(copies == 1);
  CHECK(others == 1);
}

TEST_CASE("invalid UTF-8 in a string field fails that request, the connection goes on") {
  TestServer server;
  auto bob = TestClient::connect_as(server.port(), "bob");
  bob.join("#utf");

  SUBCASE("in Hello's nick: an Error, and another Hello is welcomed") {
    TestClient client(server.port());
    auto hello = test::hello_frame(placeholder);
    hello.set_request_id(5);
    client.write_raw(frame_with_bytes(hello, placeholder, invalid_utf8));
    const auto refused = client.reply_to(5);
    REQUIRE(refused);
    CHECK(error_code(*refused) == v1::Error::INVALID_NAME);
    CHECK(test::hello(client, "carol").has_welcome());
  }

  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#utf");
  struct Case {
    const char* what;
    v1::ClientFrame frame;
    v1::Error::Code code;
  };
  const std::vector<Case> cases = {
      {"a room name", join(placeholder), v1::Error::INVALID_NAME},
      {"a message", send("#utf", placeholder), v1::Error::INVALID_TEXT},
      {"a topic", set_topic("#utf", placeholder), v1::Error::INVALID_TEXT},
      {"an edit", make_request([](v1::ClientFrame& f) {
         f.mutable_edit()->set_room("#utf");
         f.mutable_edit()->set_seq(1);
         f.mutable_edit()->set_text(placeholder);
       }),
       v1::Error::INVALID_TEXT},
      {"a direct message", send_direct("bob", placeholder, 1), v1::Error::INVALID_TEXT},
      {"a direct message's recipient", send_direct(placeholder, "hi", 2), v1::Error::INVALID_NAME},
      {"a new nick",
       make_request([](v1::ClientFrame& f) { f.mutable_set_nick()->set_nick(placeholder); }),
       v1::Error::INVALID_NAME},
      {"a room prefix",
       make_request([](v1::ClientFrame& f) { f.mutable_list_rooms()->set_prefix(placeholder); }),
       v1::Error::INVALID_NAME},
  };
  std::uint64_t id = 100;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto frame = c.frame;
    frame.set_request_id(++id);
    alice.write_raw(frame_with_bytes(frame, placeholder, invalid_utf8));
    const auto reply = alice.reply_to(id);
    REQUIRE(reply);
    CHECK(error_code(*reply) == c.code);
    CHECK(reply->error().message().find("UTF-8") != std::string::npos);
  }
  const auto ack = alice.say("#utf", "still connected");
  REQUIRE(ack.has_ack());
  CHECK(bob.wait_for([&](const auto& f) {
    return f.has_room_message() && f.room_message().seq() == ack.ack().seq();
  }));
  CHECK_FALSE(alice.closed());
}

TEST_CASE("a server that admits no guests lets no one rename to an unregistered nick") {
  auto config = test::test_config();
  config.guests = "deny";
  TestServer server(config);
  TestClient alice(server.port());
  REQUIRE(test::hello(alice, "alice", "alice's password").has_welcome());  // registers alice
  TestClient bob(server.port());
  REQUIRE(test::hello(bob, "bob", "bob's password").has_welcome());
  CHECK(error_code(test::set_nick(alice, "nobody")) == v1::Error::FORBIDDEN);
  CHECK(error_code(test::set_nick(alice, "bob")) == v1::Error::NICK_IN_USE);
  CHECK(test::set_nick(alice, "ALICE").has_ok());  // the same nick, other case: still hers
  // Nobody became "nobody": a guest Hello for it is refused as before.
  TestClient guest(server.port());
  CHECK(error_code(test::hello(guest, "nobody")) == v1::Error::AUTH_FAILED);
}

TEST_CASE("error codes are the ones chat.proto documents") {
  auto config = test::test_config();
  config.max_text_bytes = 1000;
  TestServer server(config);
  TestClient first(server.port());
  const auto welcome = test::hello(first, "alice");
  REQUIRE(welcome.has_welcome());
  CHECK(welcome.welcome().limits().max_name_chars() == max_name_code_points);
  CHECK(welcome.welcome().limits().max_name_bytes() == max_name_bytes);
  auto& alice = first;
  alice.join("#codes");

  CHECK(error_code(ask(alice, v1::ClientFrame())) == v1::Error::BAD_REQUEST);  // empty request
  CHECK(error_code(ask(alice, set_topic("#codes", std::string(1001, 't')))) ==
        v1::Error::TEXT_TOO_LONG);
  CHECK(ask(alice, set_topic("#codes", std::string(1000, 't'))).has_ok());
  CHECK(error_code(ask(alice, set_topic("#codes", "bell \a"))) == v1::Error::INVALID_TEXT);
  CHECK(error_code(test::history_frame(
            alice, "#nowhere", [](v1::History& h) { h.set_latest(true); }, 10)) ==
        v1::Error::NOT_IN_ROOM);
  CHECK(error_code(ask(alice, send_direct("nobody", "hello?", 1))) == v1::Error::NOT_FOUND);

  SUBCASE("SetNick to a registered nick is NICK_IN_USE") {
    TestClient owner(server.port());
    REQUIRE(test::hello(owner, "owner").has_welcome());
    REQUIRE(ask(owner, make_request([](v1::ClientFrame& f) {
                  f.mutable_register_()->set_password("owner's password");
                }))
                .has_ok());
    CHECK(test::set_nick(owner, "owner2").has_ok());  // owner is free now, but registered
    CHECK(error_code(test::set_nick(alice, "owner")) == v1::Error::NICK_IN_USE);
  }
  SUBCASE("a refused Hello is an Error, and the client may try another nick") {
    TestClient late(server.port());
    CHECK(error_code(test::hello(late, "alice")) == v1::Error::NICK_IN_USE);
    CHECK(error_code(test::hello(late, "9lives")) == v1::Error::INVALID_NAME);
    CHECK(test::hello(late, "alice2").has_welcome());
  }
  SUBCASE("a wrong protocol version: UNSUPPORTED, then Disconnect{HANDSHAKE_FAILED}") {
    TestClient future(server.port());
    auto hello = test::hello_frame("future");
    hello.mutable_hello()->set_protocol_version(2);
    const auto id = future.send(hello);
    const auto frames = frames_until_closed(future);
    REQUIRE(answer_to(frames, id));
    CHECK(error_code(*answer_to(frames, id)) == v1::Error::UNSUPPORTED);
    REQUIRE_FALSE(frames.empty());
    REQUIRE(frames.back().has_disconnect());
    CHECK(frames.back().disconnect().reason() == v1::Disconnect::HANDSHAKE_FAILED);
  }
  SUBCASE("a request before Hello: BAD_STATE, then Disconnect{PROTOCOL_ERROR}") {
    TestClient early(server.port());
    const auto id = early.send(join("#codes"));
    const auto frames = frames_until_closed(early);
    REQUIRE(answer_to(frames, id));
    CHECK(error_code(*answer_to(frames, id)) == v1::Error::BAD_STATE);
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.back().disconnect().reason() == v1::Disconnect::PROTOCOL_ERROR);
  }
}

TEST_CASE("a flood is disconnected only after every stored message was acknowledged") {
  auto config = test::test_config();
  config.messages_per_second = 5;
  config.message_burst = 10;
  config.rate_limit_strikes = 20;
  TestServer server(config);
  auto flooder = TestClient::connect_as(server.port(), "flooder");
  flooder.join("#flood");
  std::vector<v1::ClientFrame> sends;
  for (int i = 1; i <= 100; ++i) sends.push_back(send("#flood", "spam " + std::to_string(i), i));
  const auto ids = send_together(flooder, sends);
  const auto frames = frames_until_closed(flooder);
  // Requests are taken in order, and every one taken is answered before the Disconnect: the
  // answered ones are the first N sent, the strike that ended the connection among them.
  std::size_t answered = 0;
  while (answered < ids.size() && answer_to(frames, ids[answered])) ++answered;
  CHECK(answered > 0);
  for (std::size_t i = answered; i < ids.size(); ++i) CHECK_FALSE(answer_to(frames, ids[i]));
  REQUIRE(answered > 0);
  CHECK(error_code(*answer_to(frames, ids[answered - 1])) == v1::Error::RATE_LIMITED);
  REQUIRE_FALSE(frames.empty());
  REQUIRE(frames.back().has_disconnect());
  CHECK(frames.back().disconnect().reason() == v1::Disconnect::RATE_LIMITED);
  std::vector<std::uint64_t> acked;
  int refused = 0;
  for (const auto& frame : frames) {
    if (frame.has_ack()) acked.push_back(frame.ack().seq());
    if (frame.has_error()) ++refused;
  }
  // 20 refusals in a row are allowed; the 21st is refused too, then the connection is closed.
  CHECK(refused == static_cast<int>(config.rate_limit_strikes) + 1);
  // What was stored is exactly what was acknowledged, and every Ack came before the Disconnect.
  auto reader = TestClient::connect_as(server.port(), "reader");
  reader.join("#flood");
  std::vector<std::uint64_t> stored;
  for (const auto& message : test::all_history(reader, "#flood")) stored.push_back(message.seq());
  std::sort(acked.begin(), acked.end());
  CHECK(stored == acked);
  CHECK(acked.size() + static_cast<std::size_t>(refused) <= 100);
}

TEST_CASE("Typing is never answered, not even above the rate limit") {
  auto config = test::test_config();
  config.messages_per_second = 1;
  config.message_burst = 2;
  TestServer server(config);
  auto alice = TestClient::connect_as(server.port(), "alice");
  std::vector<v1::ClientFrame> frames;
  for (int i = 0; i < 10; ++i) {
    frames.push_back(make_request([](v1::ClientFrame& f) { f.mutable_typing()->set_room("#t"); }));
  }
  frames.push_back(ping(3));
  const auto ids = send_together(alice, frames, 500);
  const auto pong = alice.reply_to(ids.back());
  REQUIRE(pong);
  CHECK(pong->pong().nonce() == 3);
  for (const auto& frame : alice.skipped()) CHECK(frame.request_id() == 0);
  CHECK_FALSE(alice.closed());
}
