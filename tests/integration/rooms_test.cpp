// Rooms end to end: real server, real sockets.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TestClient;
using chat::test::TestServer;

namespace {

bool is_message(const v1::ServerFrame& f) { return f.has_room_message(); }

// Every room message this client has received or receives until it holds `count`, in arrival order.
std::vector<v1::RoomMessage> collect_messages(TestClient& client, std::size_t count) {
  std::vector<v1::RoomMessage> messages;
  for (auto& frame : client.skipped()) {
    if (frame.has_room_message()) messages.push_back(frame.room_message());
  }
  client.skipped().clear();
  while (messages.size() < count) {
    auto frame = client.wait_for(is_message);
    if (!frame) break;
    messages.push_back(frame->room_message());
  }
  return messages;
}

v1::ClientFrame request(const std::function<void(v1::ClientFrame&)>& fill) {
  v1::ClientFrame frame;
  fill(frame);
  return frame;
}

}  // namespace

TEST_CASE("two clients in a room: both receive a message, the sender gets its sequence") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  auto bob = TestClient::connect_as(server.port(), "bob");
  const auto joined = alice.join("#lobby");
  REQUIRE(joined.has_join_reply());
  CHECK(joined.join_reply().member_count() == 1);
  CHECK(bob.join("#Lobby").join_reply().member_count() == 2);

  const auto ack = alice.say("#lobby", "hello bob", 77);
  REQUIRE(ack.has_ack());
  CHECK(ack.ack().seq() == 1);
  CHECK(ack.ack().client_msg_id() == 77);

  const auto got = bob.wait_for(is_message);
  REQUIRE(got);
  CHECK(got->room_message().text() == "hello bob");
  CHECK(got->room_message().from() == "alice");
  CHECK(got->room_message().seq() == 1);
  CHECK(got->room_message().room() == "#lobby");
  CHECK(got->room_message().server_time_ms() > 0);
  CHECK(collect_messages(alice, 1).at(0).text() == "hello bob");
  CHECK(bob.say("#LOBBY", "hi").ack().seq() == 2);
}

TEST_CASE(
    "200 clients in a room: every member receives every message once, in order, without gaps") {
  TestServer server;
  constexpr int members = 200;
  constexpr int senders = 5;
  constexpr int per_sender = 20;
  std::vector<TestClient> clients;
  for (int i = 0; i < members; ++i) {
    clients.push_back(TestClient::connect_as(server.port(), "user" + std::to_string(i)));
    REQUIRE(clients.back().join("crowd").has_join_reply());
  }
  // Senders take turns so no socket fills while the test thread is busy elsewhere.
  for (int round = 0; round < per_sender; ++round) {
    for (int s = 0; s < senders; ++s) {
      v1::ClientFrame frame;
      frame.mutable_send()->set_room("crowd");
      frame.mutable_send()->set_text("from " + std::to_string(s) + " #" + std::to_string(round));
      clients[static_cast<std::size_t>(s)].send(frame);
    }
  }
  constexpr std::size_t total = senders * per_sender;
  for (auto& client : clients) {
    const auto messages = collect_messages(client, total);
    REQUIRE(messages.size() == total);
    std::map<std::string, int> next_round;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      CHECK(messages[i].seq() == i + 1);  // in sequence order, no gap, no duplicate
      const auto& text = messages[i].text();
      const auto hash = text.find('#');
      const std::string sender = text.substr(0, hash);
      CHECK(std::stoi(text.substr(hash + 1)) == next_round[sender]++);  // each sender's order kept
    }
  }
  auto extra = clients[7].next(std::chrono::milliseconds(50));
  CHECK((!extra || !extra->has_room_message()));
}

TEST_CASE("nicks are unique without regard to case and can be changed") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  TestClient imposter(server.port());
  auto reply = imposter.reply_to(imposter.send(test::hello_frame("ALICE")));
  REQUIRE(reply);
  REQUIRE(reply->has_error());
  CHECK(reply->error().code() == v1::Error::NICK_IN_USE);
  // The handshake can be retried with another nick on the same connection.
  reply = imposter.reply_to(imposter.send(test::hello_frame("mallory")));
  REQUIRE(reply);
  CHECK(reply->has_welcome());

  alice.join("room");
  imposter.join("room");
  auto rename = imposter.reply_to(
      imposter.send(request([](auto& f) { f.mutable_set_nick()->set_nick("Alice"); })));
  CHECK(rename->error().code() == v1::Error::NICK_IN_USE);
  rename = imposter.reply_to(
      imposter.send(request([](auto& f) { f.mutable_set_nick()->set_nick("mal"); })));
  CHECK(rename->has_ok());
  const auto changed = alice.wait_for([](const auto& f) { return f.has_nick_changed(); });
  REQUIRE(changed);
  CHECK(changed->nick_changed().old_nick() == "mallory");
  CHECK(changed->nick_changed().new_nick() == "mal");
  // The old nick is free again.
  auto again = TestClient::connect_as(server.port(), "mallory");
  CHECK_FALSE(again.closed());
}

TEST_CASE("presence, topic, who (all, or the first few), list and leave") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  auto bob = TestClient::connect_as(server.port(), "bob");
  alice.join("#dev");
  alice.join("#ops");
  bob.join("#dev");
  const auto joined = alice.wait_for(
      [](const auto& f) { return f.has_member_joined() && f.member_joined().nick() == "bob"; });
  REQUIRE(joined);
  CHECK(joined->member_joined().room() == "#dev");

  auto topic = bob.reply_to(bob.send(request([](auto& f) {
    f.mutable_set_topic()->set_room("#dev");
    f.mutable_set_topic()->set_topic("ship it");
  })));
  CHECK(topic->has_ok());
  const auto topic_event = alice.wait_for([](const auto& f) { return f.has_topic_changed(); });
  REQUIRE(topic_event);
  CHECK(topic_event->topic_changed().topic() == "ship it");
  CHECK(topic_event->topic_changed().by() == "bob");

  auto who =
      alice.reply_to(alice.send(request([](auto& f) { f.mutable_who()->set_room("#dev"); })));
  REQUIRE(who->has_member_list());
  CHECK(std::vector<std::string>(who->member_list().nicks().begin(),
                                 who->member_list().nicks().end()) ==
        std::vector<std::string>{"alice", "bob"});
  CHECK(who->member_list().member_count() == 2);
  auto first = alice.reply_to(alice.send(request([](auto& f) {
    f.mutable_who()->set_room("#dev");
    f.mutable_who()->set_limit(1);
  })));
  REQUIRE(first->has_member_list());
  REQUIRE(first->member_list().nicks_size() == 1);  // which one is the server's choice
  CHECK((first->member_list().nicks(0) == "alice" || first->member_list().nicks(0) == "bob"));
  CHECK(first->member_list().member_count() == 2);

  auto list = bob.reply_to(bob.send(request([](auto& f) { f.mutable_list_rooms(); })));
  REQUIRE(list->has_room_list());
  REQUIRE(list->room_list().rooms_size() == 2);
  CHECK(list->room_list().rooms(0).room() == "#dev");
  CHECK(list->room_list().rooms(0).member_count() == 2);
  CHECK(list->room_list().rooms(0).topic() == "ship it");
  CHECK(list->room_list().rooms(1).room() == "#ops");
  CHECK(list->room_list().rooms(1).member_count() == 1);

  auto leave =
      bob.reply_to(bob.send(request([](auto& f) { f.mutable_leave()->set_room("#dev"); })));
  CHECK(leave->has_ok());
  const auto left = alice.wait_for([](const auto& f) { return f.has_member_left(); });
  REQUIRE(left);
  CHECK(left->member_left().nick() == "bob");
  CHECK(left->member_left().reason() == "left");
  auto not_member = bob.say("#dev", "still here?");
  CHECK(not_member.error().code() == v1::Error::NOT_IN_ROOM);

  // A disconnect leaves every room too.
  bob.join("#ops");
  { auto gone = std::move(bob); }
  const auto dropped = alice.wait_for(
      [](const auto& f) { return f.has_member_left() && f.member_left().room() == "#ops"; });
  REQUIRE(dropped);
  CHECK(dropped->member_left().reason() == "disconnected");
}

TEST_CASE("direct messages with delivered and read receipts") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  auto bob = TestClient::connect_as(server.port(), "bob");
  auto sent = alice.reply_to(alice.send(request([](auto& f) {
    f.mutable_send_direct()->set_to("BOB");
    f.mutable_send_direct()->set_text("psst");
    f.mutable_send_direct()->set_client_msg_id(5);
  })));
  CHECK(sent->has_ok());
  const auto dm = bob.wait_for([](const auto& f) { return f.has_direct_message(); });
  REQUIRE(dm);
  CHECK(dm->direct_message().from() == "alice");
  CHECK(dm->direct_message().text() == "psst");
  const auto delivered = alice.wait_for([](const auto& f) { return f.has_direct_receipt(); });
  REQUIRE(delivered);
  CHECK(delivered->direct_receipt().kind() == v1::DirectReceiptEvent::DELIVERED);
  CHECK(delivered->direct_receipt().client_msg_id() == 5);

  bob.send(request([](auto& f) {
    f.mutable_direct_receipt()->set_to("alice");
    f.mutable_direct_receipt()->set_client_msg_id(5);
  }));
  const auto read = alice.wait_for([](const auto& f) { return f.has_direct_receipt(); });
  REQUIRE(read);
  CHECK(read->direct_receipt().kind() == v1::DirectReceiptEvent::READ);
  CHECK(read->direct_receipt().from() == "bob");

  auto nobody = alice.reply_to(alice.send(request([](auto& f) {
    f.mutable_send_direct()->set_to("nobody");
    f.mutable_send_direct()->set_text("hello?");
  })));
  CHECK(nobody->error().code() == v1::Error::NOT_FOUND);
}

TEST_CASE("history on join, history pages, and resume after a reconnect") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#log");
  for (int i = 1; i <= 60; ++i)
    REQUIRE(alice.say("#log", "m" + std::to_string(i)).ack().seq() ==
            static_cast<std::uint64_t>(i));

  auto bob = TestClient::connect_as(server.port(), "bob");
  const auto reply = bob.join("#log");
  CHECK(reply.join_reply().last_seq() == 60);
  const auto backlog = collect_messages(bob, 50);  // history_on_join defaults to 50
  REQUIRE(backlog.size() == 50);
  CHECK(backlog.front().seq() == 11);
  CHECK(backlog.back().seq() == 60);

  auto page = bob.reply_to(bob.send(request([](auto& f) {
    f.mutable_history()->set_room("#log");
    f.mutable_history()->set_before_seq(11);
    f.mutable_history()->set_limit(5);
  })));
  REQUIRE(page->has_history_reply());
  REQUIRE(page->history_reply().messages_size() == 5);
  CHECK(page->history_reply().messages(0).seq() == 6);
  CHECK(page->history_reply().messages(4).seq() == 10);
  CHECK(page->history_reply().has_more());

  page = bob.reply_to(bob.send(request([](auto& f) {
    f.mutable_history()->set_room("#log");
    f.mutable_history()->set_after_seq(58);
    f.mutable_history()->set_limit(1000000);  // capped by the server
  })));
  REQUIRE(page->history_reply().messages_size() == 2);
  CHECK_FALSE(page->history_reply().has_more());

  // Carol drops off at seq 60, the room moves on, she resumes: exactly the missed ones, then live.
  auto carol = TestClient::connect_as(server.port(), "carol");
  carol.join("#log");
  { auto gone = std::move(carol); }
  for (int i = 61; i <= 65; ++i) alice.say("#log", "m" + std::to_string(i));
  v1::ResumeRoom resume;
  resume.set_room("#log");
  resume.set_last_seen_seq(60);
  // The nick is free once the server has noticed the old connection is gone.
  std::optional<TestClient> reconnected;
  REQUIRE(test::eventually([&] {
    try {
      reconnected.emplace(TestClient::connect_as(server.port(), "carol", {resume}));
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }));
  TestClient& back = *reconnected;
  const auto missed = collect_messages(back, 5);
  REQUIRE(missed.size() == 5);
  CHECK(missed.front().seq() == 61);
  CHECK(missed.back().seq() == 65);
  alice.say("#log", "live");
  const auto live = collect_messages(back, 1);
  REQUIRE(live.size() == 1);
  CHECK(live[0].seq() == 66);
}

TEST_CASE("a reload applies new limits without dropping anyone") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  alice.join("#r");
  auto config = test::test_config();
  config.max_text_bytes = 10;
  server.server().reload(config);
  // The reload reaches each shard as a post: wait until this session's shard has it.
  CHECK(test::eventually([&] { return alice.say("#r", std::string(20, 'x')).has_error(); }));
  CHECK(alice.say("#r", std::string(20, 'x')).error().code() == v1::Error::TEXT_TOO_LONG);
  CHECK(alice.say("#r", "short").has_ack());
  CHECK_FALSE(alice.closed());
}

TEST_CASE("Whois tells who a nick is, SetAway shows in rooms, in Whois and on direct messages") {
  TestServer server;
  auto alice = TestClient::connect_as(server.port(), "alice");
  auto bob = TestClient::connect_as(server.port(), "bob");
  alice.join("#dev");
  bob.join("#dev");

  auto info =
      alice.reply_to(alice.send(request([](auto& f) { f.mutable_whois()->set_nick("BOB"); })));
  REQUIRE(info);
  REQUIRE(info->has_user_info());
  CHECK(info->user_info().nick() == "bob");
  CHECK_FALSE(info->user_info().account());
  CHECK(info->user_info().away().empty());
  CHECK(info->user_info().rooms_size() == 1);
  CHECK(info->user_info().transport() == "tcp");
  CHECK(info->user_info().connected_ms() > 0);
  // Idle since connecting until bob says something; then idle since then.
  auto whois_bob = [&] {
    return alice.reply_to(alice.send(request([](auto& f) { f.mutable_whois()->set_nick("bob"); })))
        ->user_info();
  };
  std::uint64_t idle_before = 0;
  REQUIRE(test::eventually([&] { return (idle_before = whois_bob().idle_ms()) >= 300; }));
  REQUIRE(bob.say("#dev", "here").has_ack());
  CHECK(whois_bob().idle_ms() < idle_before);
  auto nobody =
      alice.reply_to(alice.send(request([](auto& f) { f.mutable_whois()->set_nick("nobody"); })));
  REQUIRE(nobody);
  CHECK(nobody->error().code() == v1::Error::NOT_FOUND);

  auto away =
      bob.reply_to(bob.send(request([](auto& f) { f.mutable_set_away()->set_message("lunch"); })));
  REQUIRE(away);
  CHECK(away->has_ok());
  const auto changed = alice.wait_for([](const auto& f) { return f.has_away_changed(); });
  REQUIRE(changed);
  CHECK(changed->away_changed().room() == "#dev");
  CHECK(changed->away_changed().nick() == "bob");
  CHECK(changed->away_changed().message() == "lunch");
  info = alice.reply_to(alice.send(request([](auto& f) { f.mutable_whois()->set_nick("bob"); })));
  CHECK(info->user_info().away() == "lunch");
  alice.send(request([](auto& f) {
    f.mutable_send_direct()->set_to("bob");
    f.mutable_send_direct()->set_text("there?");
    f.mutable_send_direct()->set_client_msg_id(5);
  }));
  const auto receipt = alice.wait_for([](const auto& f) { return f.has_direct_receipt(); });
  REQUIRE(receipt);
  CHECK(receipt->direct_receipt().away() == "lunch");

  auto bad = bob.reply_to(bob.send(
      request([](auto& f) { f.mutable_set_away()->set_message(std::string(5000, 'x')); })));
  REQUIRE(bad);
  CHECK(bad->error().code() == v1::Error::TEXT_TOO_LONG);
  auto back =
      bob.reply_to(bob.send(request([](auto& f) { f.mutable_set_away()->clear_message(); })));
  CHECK(back->has_ok());
  const auto returned = alice.wait_for(
      [](const auto& f) { return f.has_away_changed() && f.away_changed().message().empty(); });
  CHECK(returned);
}
