#include <doctest/doctest.h>

#include <sstream>

#include "chat.pb.h"
#include "client_wire.hpp"
#include "frame_peek.hpp"
#include "framing.hpp"
#include "irc_lines.hpp"
#include "latency_histogram.hpp"
#include "options.hpp"
#include "plan.hpp"
#include "sequence_tracker.hpp"
#include "websocket_frames.hpp"

using namespace chat::loadtest;
using namespace std::chrono_literals;

TEST_CASE("latency histogram quantiles are within bucket precision") {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.record(i * 1000);  // 1..1000 us
  CHECK(h.count() == 1000);
  CHECK(h.quantile(0.5) == doctest::Approx(500000).epsilon(0.02));
  CHECK(h.quantile(0.99) == doctest::Approx(990000).epsilon(0.02));
  CHECK(h.quantile(1.0) == 1000000);
  CHECK(h.max() == 1000000);
  CHECK(h.min() == 1000);
  LatencyHistogram other;
  other.record(5'000'000'000);
  h.merge(other);
  CHECK(h.max() == 5'000'000'000);
  CHECK(h.quantile(1.0) == 5'000'000'000);
  LatencyHistogram empty;
  CHECK(empty.quantile(0.99) == 0);
  h.record(-5);  // a clock oddity counts as zero, never crashes
  CHECK(h.min() == 0);
}

TEST_CASE("peek reads a room message like the full parser, and declines everything else") {
  chat::v1::ServerFrame frame;
  auto* message = frame.mutable_room_message();
  message->set_room("#lt0");
  message->set_seq(123456789);
  message->set_from("alice");
  message->set_text("0123456789abcdef payload");
  message->set_server_time_ms(1700000000000);
  const std::string body = frame.SerializeAsString();
  const auto peeked = peek_room_message(body);
  REQUIRE(peeked);
  CHECK(peeked->room == "#lt0");
  CHECK(peeked->seq == 123456789);
  CHECK(peeked->text == "0123456789abcdef payload");

  chat::v1::ServerFrame ack;
  ack.set_request_id(7);
  ack.mutable_ack()->set_seq(3);
  CHECK_FALSE(peek_room_message(ack.SerializeAsString()));
  CHECK_FALSE(peek_room_message(""));
  CHECK_FALSE(peek_room_message(std::string("\xa2\x01\x05\x0a\x03", 5)));  // truncated message
  CHECK_FALSE(peek_room_message(body.substr(0, body.size() - 3)));
  for (std::size_t cut = 0; cut < body.size(); ++cut)
    (void)peek_room_message(body.substr(0, cut));  // never reads past
}

TEST_CASE("sequence tracker: losses, duplicates, late arrivals and announced gaps") {
  SequenceTracker t;
  t.start_after(10);
  for (std::uint64_t s : {11, 12, 14, 13, 15, 15}) t.on_message(s);
  CHECK(t.received() == 5);
  CHECK(t.duplicates() == 1);
  CHECK(t.out_of_order() == 1);
  CHECK(t.lost(15) == 0);
  CHECK(t.lost(18) == 3);  // 16, 17, 18 never came
  t.on_gap(16, 17);
  CHECK(t.lost(18) == 1);
  CHECK(t.lost(5) == 0);
  t.on_message(9);  // before the join: a duplicate of nothing we owe
  CHECK(t.duplicates() == 2);
}

TEST_CASE("durations, address ranges and endpoints") {
  CHECK(parse_duration("30") == 30s);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("2m") == 120s);
  CHECK(parse_duration("1.5s") == 1500ms);
  for (const char* bad : {"", "s", "-1", "10h", "abc", "1e30", "5 s"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad));
  }
  const auto range = parse_address_range("127.0.0.2-127.0.1.1");
  REQUIRE(range);
  CHECK(range->size() == 256);
  CHECK(range->front() == "127.0.0.2");
  CHECK(range->back() == "127.0.1.1");
  CHECK(parse_address_range("127.0.0.9")->size() == 1);
  for (const char* bad :
       {"127.0.0.9-127.0.0.2", "localhost", "127.0.0.1-", "10.0.0.0-10.255.255.255", "::1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_address_range(bad));
  }
  CHECK(parse_endpoint("127.0.0.1:7777")->port == 7777);
  for (const char* bad : {"127.0.0.1", ":7777", "host:0", "host:70000", "host:12ab"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_endpoint(bad));
  }
}

namespace {

std::variant<Options, int> parse(std::vector<std::string> args, std::string* err_out = nullptr) {
  args.insert(args.begin(), "chat-loadtest");
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out;
  std::ostringstream err;
  auto result = parse_options(static_cast<int>(argv.size()), argv.data(), out, err);
  if (err_out) *err_out = err.str();
  return result;
}

}  // namespace

TEST_CASE("loadtest flags: good ones parse, bad ones are one-line errors with exit code 2") {
  const auto good = parse({"--server", "127.0.0.1:7000", "--server", "127.0.0.1:7001", "--scenario",
                           "chatter", "--clients", "50", "--rooms", "5", "--rooms-per-client", "2",
                           "--duration", "2s", "--source-addresses", "127.0.0.2-127.0.0.3"});
  REQUIRE(std::holds_alternative<Options>(good));
  const Options& o = std::get<Options>(good);
  CHECK(o.servers.size() == 2);
  CHECK(o.scenario == Scenario::chatter);
  CHECK(o.duration == 2s);
  CHECK(o.source_addresses.size() == 2);
  CHECK(o.transport == Transport::tcp);
  const auto ws = parse({"--transport", "ws"});
  REQUIRE(std::holds_alternative<Options>(ws));
  CHECK(std::get<Options>(ws).transport == Transport::websocket);
  const auto irc = parse({"--transport", "irc", "--scenario", "chatter"});
  REQUIRE(std::holds_alternative<Options>(irc));
  CHECK(std::get<Options>(irc).transport == Transport::irc);
  const auto search = parse({"--scenario", "chatter", "--rate", "2", "--p99-bound", "100",
                             "--rate-factor", "1.5", "--max-steps", "4"});
  REQUIRE(std::holds_alternative<Options>(search));
  CHECK(std::get<Options>(search).p99_bound_ms == 100);
  CHECK(std::get<Options>(search).rate_factor == 1.5);
  CHECK(std::get<Options>(search).max_steps == 4);

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--scenario", "stampede"},
           {"--clients", "0"},
           {"--duration", "forever"},
           {"--server", "nowhere"},
           {"--members", "5", "--senders", "6"},
           {"--rooms", "2", "--rooms-per-client", "3", "--scenario", "chatter"},
           {"--payload", "8"},
           {"--source-addresses", "1.2.3"},
           {"--unknown"},
           {"--threads"},
           {"--churn-interval", "1ms"},
           {"--transport", "udp"},
           {"--transport", "irc", "--scenario", "churn"},
           {"--p99-bound", "100"},
           {"--p99-bound", "100", "--rate", "2", "--scenario", "idle"},
           {"--p99-bound", "-1", "--rate", "2"},
           {"--rate-factor", "1", "--rate", "2"},
           {"--max-steps", "0"}}) {
    CAPTURE(args.front());
    std::string err;
    const auto result = parse(args, &err);
    REQUIRE(std::holds_alternative<int>(result));
    CHECK(std::get<int>(result) == 2);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  }
  CHECK(std::get<int>(parse({"--help"})) == 0);
}

TEST_CASE("plans: fanout puts everyone in one room, chatter spreads members evenly") {
  Options fanout;
  fanout.servers = {{"127.0.0.1", 1}, {"127.0.0.1", 2}};
  fanout.clients = 10;
  fanout.senders = 3;
  const Plan p = make_plan(fanout);
  CHECK(p.room_names.size() == 1);
  CHECK(std::count_if(p.clients.begin(), p.clients.end(), [](const auto& c) { return c.sender; }) ==
        3);
  CHECK(p.clients[1].server.port == 2);

  Options chatter = fanout;
  chatter.scenario = Scenario::chatter;
  chatter.clients = 100;
  chatter.rooms = 10;
  chatter.rooms_per_client = 3;
  const Plan q = make_plan(chatter);
  std::vector<int> members(10);
  for (const auto& c : q.clients) {
    CHECK(c.rooms.size() == 3);
    for (auto r : c.rooms) ++members[r];
  }
  for (int m : members) CHECK(m == 30);
}

TEST_CASE("--transport ws: requests are masked binary messages the server's decoder reads") {
  chat::loadtest::ClientWire wire(chat::loadtest::Transport::websocket, 7);
  chat::v1::ClientFrame frame;
  frame.set_request_id(9);
  frame.mutable_send()->set_room("lobby");
  frame.mutable_send()->set_text(std::string(300, 'x'));  // a 16-bit length
  std::string out;
  wire.append(out, frame);
  wire.append_pong(out, "nonce");
  chat::websocket::Decoder decoder(64 * 1024);
  decoder.feed(out);
  chat::websocket::Message message;
  REQUIRE(decoder.next(message) == chat::websocket::DecodeStatus::message);
  CHECK(message.opcode == chat::websocket::Opcode::binary);
  chat::v1::ClientFrame decoded;
  REQUIRE(decoded.ParseFromArray(message.payload.data(), static_cast<int>(message.payload.size())));
  CHECK(decoded.send().text() == frame.send().text());
  REQUIRE(decoder.next(message) == chat::websocket::DecodeStatus::message);
  CHECK(message.opcode == chat::websocket::Opcode::pong);
  CHECK(message.payload == "nonce");
}

TEST_CASE("--transport ws: the server's frames are read whole, split anywhere") {
  chat::loadtest::ClientWire wire(chat::loadtest::Transport::websocket);
  const std::string body(70000, 'y');  // a 64-bit length
  std::string stream;
  chat::websocket::append_header(stream, chat::websocket::Opcode::binary, body.size());
  stream += body;
  stream += chat::websocket::control_frame(chat::websocket::Opcode::ping, "p");
  for (std::size_t cut : {std::size_t{1}, std::size_t{3}, std::size_t{9}, 10 + body.size() - 1}) {
    chat::loadtest::ServerUnit unit;
    std::size_t used = 0;
    CHECK(wire.next(std::string_view(stream).substr(0, cut), unit, used) ==
          chat::loadtest::UnitStatus::need_more);
  }
  chat::loadtest::ServerUnit unit;
  std::size_t used = 0;
  REQUIRE(wire.next(stream, unit, used) == chat::loadtest::UnitStatus::unit);
  CHECK(unit.kind == chat::loadtest::ServerUnit::Kind::frame);
  CHECK(unit.body.size() == body.size());
  REQUIRE(wire.next(std::string_view(stream).substr(used), unit, used) ==
          chat::loadtest::UnitStatus::unit);
  CHECK(unit.kind == chat::loadtest::ServerUnit::Kind::ping);
  CHECK(unit.body == "p");
  const std::string masked =
      "\x82\x81"
      "abcd"
      "x";
  CHECK(wire.next(masked, unit, used) == chat::loadtest::UnitStatus::error);
}

TEST_CASE("--transport ws: the upgrade request and the 101 it needs") {
  chat::loadtest::ClientWire wire(chat::loadtest::Transport::websocket);
  const std::string request = wire.upgrade_request("127.0.0.1", 8080);
  CHECK(request.starts_with("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
  CHECK(request.find("Sec-WebSocket-Protocol: chat.v1\r\n") != std::string::npos);
  CHECK(request.ends_with("==\r\n\r\n"));  // a key of 16 bytes
  bool ok = false;
  CHECK(chat::loadtest::ClientWire::upgrade_response("HTTP/1.1 101 Switching", ok) == 0);
  const std::string accepted =
      "HTTP/1.1 101 Switching Protocols\r\nsec-websocket-protocol: chat.v1\r\n\r\n\x82";
  CHECK(chat::loadtest::ClientWire::upgrade_response(accepted, ok) == accepted.size() - 1);
  CHECK(ok);
  CHECK(chat::loadtest::ClientWire::upgrade_response("HTTP/1.1 403 Forbidden\r\n\r\n", ok) > 0);
  CHECK_FALSE(ok);
}

TEST_CASE("--transport irc: requests become IRC lines, server lines the events the client needs") {
  ClientWire wire(Transport::irc);
  chat::v1::ClientFrame frame;
  frame.mutable_hello()->set_nick("lt1_0");
  std::string out;
  wire.append(out, frame);
  CHECK(out ==
        "CAP REQ :echo-message message-tags\r\nNICK lt1_0\r\nUSER lt1_0 0 * :chat-loadtest\r\n"
        "CAP END\r\n");
  out.clear();
  frame.mutable_join()->set_room("#lt0");
  wire.append(out, frame);
  frame.mutable_send()->set_room("#lt0");
  frame.mutable_send()->set_text("00000000000012ab hello");
  wire.append(out, frame);
  wire.append_pong(out, "tok");
  CHECK(out == "JOIN ##lt0\r\nPRIVMSG ##lt0 :00000000000012ab hello\r\nPONG :tok\r\n");

  const IrcEvent message = read_irc_event(
      "@time=2026-12-04T10:00:00.000Z;msgid=42/#lt0 :lt1_3!lt1_3@chat PRIVMSG ##lt0 :0123 x y");
  CHECK(message.kind == IrcEvent::Kind::message);
  CHECK(message.room == "#lt0");
  CHECK(message.seq == 42);
  CHECK(message.nick == "lt1_3");
  CHECK(message.text == "0123 x y");
  CHECK(read_irc_event(":a!a@chat PRIVMSG ##lt0 :no tags").seq == 0);
  CHECK(read_irc_event(":a!a@chat PRIVMSG lt1_0 :direct").kind == IrcEvent::Kind::other);
  CHECK(read_irc_event(":chat 001 lt1_0 :Welcome").kind == IrcEvent::Kind::welcome);
  CHECK(read_irc_event(":chat 433 * lt1_0 :Nickname is already in use").kind ==
        IrcEvent::Kind::nick_in_use);
  const IrcEvent joined = read_irc_event(":chat 366 lt1_0 ##lt0 :End of /NAMES list");
  CHECK(joined.kind == IrcEvent::Kind::joined);
  CHECK(joined.room == "#lt0");
  const IrcEvent ping = read_irc_event("PING :abc");
  CHECK(ping.kind == IrcEvent::Kind::ping);
  CHECK(ping.text == "abc");
  CHECK(read_irc_event(":chat 404 lt1_0 ##lt0 :Cannot send").kind == IrcEvent::Kind::error);
  CHECK(read_irc_event("ERROR :SendQ exceeded").kind == IrcEvent::Kind::closing);
  CHECK(read_irc_event(":chat 372 lt1_0 :- motd").kind == IrcEvent::Kind::other);
  CHECK(read_irc_event(":chat 422 lt1_0 :MOTD File is missing").kind == IrcEvent::Kind::other);
  CHECK(read_irc_event("").kind == IrcEvent::Kind::other);

  // Lines are read whole, CR LF or LF, and an endless line is an error.
  ServerUnit unit;
  std::size_t used = 0;
  const std::string two = "PING :a\r\nPING :b\n";
  REQUIRE(wire.next(two, unit, used) == UnitStatus::unit);
  CHECK(unit.kind == ServerUnit::Kind::line);
  CHECK(unit.body == "PING :a");
  REQUIRE(wire.next(std::string_view(two).substr(used), unit, used) == UnitStatus::unit);
  CHECK(unit.body == "PING :b");
  CHECK(wire.next("PING :c", unit, used) == UnitStatus::need_more);
  CHECK(wire.next(std::string(ClientWire::max_irc_line + 1, 'x'), unit, used) == UnitStatus::error);
}
