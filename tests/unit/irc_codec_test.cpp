// The IRC front end without sockets: lines in, requests and replies out; frames in, lines out.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "chat.pb.h"
#include "framing.hpp"
#include "irc_codec.hpp"
#include "irc_line_reader.hpp"
#include "irc_message.hpp"
#include "irc_renderer.hpp"

using chat::server::ClientCodec;
using chat::server::irc::IrcCodec;
using chat::server::irc::LineReader;
namespace v1 = chat::v1;

namespace {

// What the codec gives the session after the lines were fed: requests and reply lines.
struct Taken {
  std::vector<v1::ClientFrame> requests;
  std::string replies;
  bool ended = false;
};

Taken take_all(IrcCodec& codec, std::string_view lines) {
  codec.feed(lines);
  Taken taken;
  v1::ClientFrame request;
  for (;;) {
    const auto input = codec.next(request);
    if (input == ClientCodec::Input::request) {
      taken.requests.push_back(request);
    } else if (input == ClientCodec::Input::reply) {
      taken.replies += codec.take_reply()->bytes;
    } else if (input == ClientCodec::Input::end) {
      taken.ended = true;
    } else {
      return taken;
    }
  }
}

// Delivers an answer the way the session does, and returns the lines the client is sent.
std::string answer(IrcCodec& codec, const v1::ServerFrame& frame) {
  auto encoded = chat::encode_frame(frame);
  codec.on_answer(*encoded);
  std::string out;
  codec.append(out, *encoded);
  return out;
}

IrcCodec registered_codec(std::string_view caps = "", std::uint32_t join_names_limit = 500) {
  IrcCodec codec("chat-server", {.history_on_join = 20,
                                 .catch_up_limit = 100,
                                 .join_names_limit = join_names_limit,
                                 .users = {}});
  std::string lines;
  if (!caps.empty()) lines += "CAP LS 302\r\nCAP REQ :" + std::string(caps) + "\r\n";
  lines += "NICK alice\r\nUSER alice 0 * :Alice\r\n";
  if (!caps.empty()) lines += "CAP END\r\n";
  const Taken taken = take_all(codec, lines);
  REQUIRE(taken.requests.size() == 1);
  v1::ServerFrame welcome;
  welcome.set_request_id(taken.requests[0].request_id());
  welcome.mutable_welcome()->set_nick("alice");
  answer(codec, welcome);
  return codec;
}

}  // namespace

TEST_CASE("IRC lines: tags, source, command and a trailing parameter") {
  const auto message = chat::server::irc::parse_message(
      "@label=a\\sb;+typing=active :nick!u@h privmsg #room :hello there");
  REQUIRE(message);
  CHECK(message->command == "PRIVMSG");
  CHECK(message->source == "nick!u@h");
  REQUIRE(message->params.size() == 2);
  CHECK(message->params[1] == "hello there");
  REQUIRE(message->tag("label"));
  CHECK(*message->tag("label") == "a b");
  CHECK(*message->tag("+typing") == "active");
  CHECK_FALSE(chat::server::irc::parse_message("   "));
}

TEST_CASE("The line reader: CR LF or LF, split anywhere, and too-long lines skipped whole") {
  LineReader reader;
  std::string_view line;
  reader.feed("PI");
  CHECK(reader.next(line) == LineReader::Status::need_more);
  reader.feed("NG x\r\nPONG y\n");
  REQUIRE(reader.next(line) == LineReader::Status::line);
  CHECK(line == "PING x");
  REQUIRE(reader.next(line) == LineReader::Status::line);
  CHECK(line == "PONG y");
  reader.feed("PRIVMSG #a :" + std::string(600, 'x') + "\r\nPING z\r\n");
  CHECK(reader.next(line) == LineReader::Status::too_long);
  REQUIRE(reader.next(line) == LineReader::Status::line);
  CHECK(line == "PING z");
  // A line with no end in sight is reported once, and its bytes are not kept.
  reader.feed(std::string(20000, 'y'));
  CHECK(reader.next(line) == LineReader::Status::too_long);
  CHECK(reader.buffered_bytes() == 0);
  reader.feed("yyy\r\nPING w\r\n");
  REQUIRE(reader.next(line) == LineReader::Status::line);
  CHECK(line == "PING w");
}

TEST_CASE("Registration waits for NICK, USER and CAP END, then asks for a Hello") {
  IrcCodec codec("chat-server", {});
  Taken taken = take_all(codec, "CAP LS 302\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n");
  CHECK(taken.requests.empty());
  CHECK(taken.replies.find("CAP * LS :") != std::string::npos);
  taken = take_all(codec, "JOIN #early\r\nCAP REQ :server-time bogus\r\nCAP END\r\n");
  CHECK(taken.replies.find(" 451 * :You have not registered") != std::string::npos);
  CHECK(taken.replies.find("CAP * NAK :server-time bogus") != std::string::npos);
  REQUIRE(taken.requests.size() == 1);
  CHECK(taken.requests[0].hello().nick() == "alice");

  v1::ServerFrame refused;
  refused.set_request_id(taken.requests[0].request_id());
  refused.mutable_error()->set_code(v1::Error::NICK_IN_USE);
  CHECK(answer(codec, refused) == ":chat-server 433 * alice :Nickname is already in use\r\n");
  taken = take_all(codec, "NICK alice2\r\n");
  REQUIRE(taken.requests.size() == 1);
  CHECK(taken.requests[0].hello().nick() == "alice2");
  v1::ServerFrame welcome;
  welcome.set_request_id(taken.requests[0].request_id());
  welcome.mutable_welcome()->set_nick("alice2");
  const std::string lines = answer(codec, welcome);
  CHECK(lines.find(":chat-server 001 alice2 :Welcome") == 0);
  CHECK(lines.find("CASEMAPPING=ascii") != std::string::npos);
  CHECK(lines.find(" 422 alice2 ") != std::string::npos);  // no MOTD set
}

TEST_CASE("SASL PLAIN logs in with the account's password before CAP END") {
  IrcCodec codec("chat-server", {});
  Taken taken =
      take_all(codec, "CAP REQ :sasl\r\nNICK x\r\nUSER x 0 * :x\r\nAUTHENTICATE PLAIN\r\n");
  CHECK(taken.replies.find("AUTHENTICATE +\r\n") != std::string::npos);
  // base64("\0carol\0secret")
  taken = take_all(codec, "AUTHENTICATE AGNhcm9sAHNlY3JldA==\r\n");
  REQUIRE(taken.requests.size() == 1);
  CHECK(taken.requests[0].hello().nick() == "carol");
  CHECK(taken.requests[0].hello().password() == "secret");
  v1::ServerFrame welcome;
  welcome.set_request_id(taken.requests[0].request_id());
  welcome.mutable_welcome()->set_nick("carol");
  const std::string lines = answer(codec, welcome);
  CHECK(lines.find(" 900 carol carol!carol@chat carol :") != std::string::npos);
  CHECK(lines.find(" 903 carol :") != std::string::npos);
  CHECK(lines.find(" 001 ") == std::string::npos);
  taken = take_all(codec, "CAP END\r\n");
  CHECK(taken.replies.find(":chat-server 001 carol ") == 0);
}

TEST_CASE("After SASL, NICK and USER may follow CAP END: 001 waits for them, and no 462") {
  // irssi's order: CAP LS, CAP REQ, AUTHENTICATE, CAP END, then NICK and USER.
  IrcCodec codec("chat-server", {});
  take_all(codec, "CAP LS 302\r\nCAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n");
  Taken taken = take_all(codec, "AUTHENTICATE AGNhcm9sAHNlY3JldA==\r\n");
  REQUIRE(taken.requests.size() == 1);
  v1::ServerFrame welcome;
  welcome.set_request_id(taken.requests[0].request_id());
  welcome.mutable_welcome()->set_nick("carol");
  answer(codec, welcome);
  taken = take_all(codec, "CAP END\r\n");
  CHECK(taken.replies.empty());
  taken = take_all(codec, "NICK carol\r\n");
  CHECK(taken.replies.empty());
  taken = take_all(codec, "USER carol carol 127.0.0.1 :Carol\r\n");
  CHECK(taken.replies.find(":chat-server 001 carol ") == 0);
  CHECK(taken.replies.find(" 462 ") == std::string::npos);
  taken = take_all(codec, "USER carol carol 127.0.0.1 :Carol\r\n");
  CHECK(taken.replies == ":chat-server 462 carol :You may not reregister\r\n");
}

TEST_CASE("JOIN asks to join, then for the names and the history, in that order") {
  IrcCodec codec = registered_codec();
  const Taken taken = take_all(codec, "JOIN #lobby,##hash,nochan\r\n");
  REQUIRE(taken.requests.size() == 6);
  CHECK(taken.requests[0].join().room() == "lobby");
  CHECK(taken.requests[1].who().room() == "lobby");
  CHECK(taken.requests[2].history().room() == "lobby");
  CHECK(taken.requests[2].history().limit() == 20);
  CHECK(taken.requests[3].join().room() == "#hash");
  CHECK(taken.replies.find(" 403 alice nochan :No such channel") != std::string::npos);
}

TEST_CASE("JOIN lists the first names up to the presence cap, and says when there are more") {
  IrcCodec codec = registered_codec("", 2);
  const Taken taken = take_all(codec, "JOIN #big\r\nNAMES #big\r\n");
  REQUIRE(taken.requests.size() == 4);
  CHECK(taken.requests[1].who().limit() == 2);
  CHECK(taken.requests[3].who().limit() == 0);  // NAMES asks for everyone
  v1::ServerFrame names;
  names.set_request_id(taken.requests[1].request_id());
  names.mutable_member_list()->set_room("big");
  names.mutable_member_list()->add_nicks("alice");
  names.mutable_member_list()->add_nicks("bob");
  names.mutable_member_list()->set_member_count(700);
  CHECK(answer(codec, names) ==
        ":chat-server 353 alice = #big :alice bob\r\n"
        ":chat-server 366 alice #big :End of /NAMES list\r\n"
        ":chat-server NOTICE #big :700 members: 2 are listed, and joins and parts are not shown "
        "in a room this large (NAMES lists everyone)\r\n");
}

TEST_CASE("REDACT is a Delete of one's message, a deletion is a REDACT for clients that take it") {
  IrcCodec codec = registered_codec("draft/message-redaction");
  Taken taken = take_all(codec,
                         "REDACT #lobby 42/lobby :typo\r\nREDACT #lobby 42/other\r\n"
                         "REDACT #lobby x/lobby\r\nREDACT #lobby\r\n");
  REQUIRE(taken.requests.size() == 1);
  CHECK(taken.requests[0].delete_().room() == "lobby");
  CHECK(taken.requests[0].delete_().seq() == 42);
  CHECK(taken.replies ==
        ":chat-server FAIL REDACT UNKNOWN_MSGID #lobby 42/other :This message does not exist or "
        "is too old\r\n"
        ":chat-server FAIL REDACT UNKNOWN_MSGID #lobby x/lobby :This message does not exist or "
        "is too old\r\n"
        ":chat-server 461 alice REDACT :Not enough parameters\r\n");
  v1::ServerFrame refused;
  refused.set_request_id(taken.requests[0].request_id());
  refused.mutable_error()->set_code(v1::Error::FORBIDDEN);
  refused.mutable_error()->set_message("only the sender may delete a message");
  CHECK(answer(codec, refused) ==
        ":chat-server FAIL REDACT REDACT_FORBIDDEN #lobby 42/lobby :only the sender may delete a "
        "message\r\n");
  v1::ServerFrame deleted;
  deleted.mutable_message_deleted()->set_room("lobby");
  deleted.mutable_message_deleted()->set_seq(7);
  deleted.mutable_message_deleted()->set_by("bob");
  CHECK(answer(codec, deleted) == ":bob!bob@chat REDACT #lobby 7/lobby\r\n");
  IrcCodec plain = registered_codec();
  CHECK(answer(plain, deleted).empty());
}

TEST_CASE("A room message is built once with its tags, each client takes what it asked for") {
  v1::ServerFrame frame;
  auto* message = frame.mutable_room_message();
  message->set_room("lobby");
  message->set_seq(7);
  message->set_from("bob");
  message->set_text("hi\nthere");
  message->set_server_time_ms(1733346000123);
  const auto encoded = chat::encode_chat_frame(frame, "lobby", 7);

  IrcCodec plain = registered_codec();
  std::string out;
  plain.append(out, *encoded);
  CHECK(out == ":bob!bob@chat PRIVMSG #lobby :hi\r\n:bob!bob@chat PRIVMSG #lobby :there\r\n");

  IrcCodec timed = registered_codec("server-time");
  out.clear();
  timed.append(out, *encoded);
  CHECK(out.find("@time=2024-12-04T21:00:00.123Z :bob!bob@chat PRIVMSG #lobby :hi\r\n") == 0);

  IrcCodec tagged = registered_codec("message-tags server-time");
  out.clear();
  tagged.append(out, *encoded);
  CHECK(out.find("@time=2024-12-04T21:00:00.123Z;msgid=7/lobby :bob") == 0);
  CHECK_FALSE(encoded->irc_lines.empty());  // kept on the frame for the next client

  // The sender sees its own message only with echo-message.
  message->set_from("alice");
  const auto own = chat::encode_chat_frame(frame, "lobby", 8);
  out.clear();
  plain.append(out, *own);
  CHECK(out.empty());
  // In history, its own messages are shown: the client has no copy of them.
  IrcCodec rejoined = registered_codec();
  v1::ClientFrame request;
  rejoined.feed("JOIN #lobby\r\n");
  std::vector<std::uint64_t> ids;
  while (rejoined.next(request) == ClientCodec::Input::request) ids.push_back(request.request_id());
  REQUIRE(ids.size() == 3);
  v1::ServerFrame joined;
  joined.set_request_id(ids[0]);
  joined.mutable_join_reply()->set_room("lobby");
  answer(rejoined, joined);
  v1::ServerFrame history;
  history.set_request_id(ids[2]);
  history.mutable_history_reply()->set_room("lobby");
  *history.mutable_history_reply()->add_messages() = *message;
  CHECK(answer(rejoined, history).find(":alice!alice@chat PRIVMSG #lobby :hi") == 0);
  IrcCodec echo = registered_codec("echo-message");
  echo.append(out, *own);
  CHECK(out.find(":alice!alice@chat PRIVMSG #lobby :hi") == 0);
}

TEST_CASE("Long text is split into lines of at most 512 bytes, never inside a character") {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "é";  // 800 bytes
  std::string out;
  chat::server::irc::append_privmsg_lines(out, "", "bob!bob@chat", "PRIVMSG", "#lobby", text,
                                          false);
  std::size_t lines = 0;
  std::string joined;
  std::string_view rest = out;
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    CHECK(line.size() <= 510);
    joined += line.substr(line.find(" :") + 2);
    rest.remove_prefix(end + 2);
    ++lines;
  }
  CHECK(lines == 2);
  CHECK(joined == text);
}

TEST_CASE("Errors become the numerics the specifications name") {
  IrcCodec codec = registered_codec();
  Taken taken = take_all(codec, "PRIVMSG #lobby :hi\r\nPRIVMSG nobody :hi\r\nPART #lobby\r\n");
  REQUIRE(taken.requests.size() == 3);
  auto error = [&](std::size_t i, v1::Error::Code code) {
    v1::ServerFrame frame;
    frame.set_request_id(taken.requests[i].request_id());
    frame.mutable_error()->set_code(code);
    return answer(codec, frame);
  };
  CHECK(error(0, v1::Error::NOT_IN_ROOM) ==
        ":chat-server 404 alice #lobby :Cannot send to channel\r\n");
  CHECK(error(1, v1::Error::NOT_FOUND) == ":chat-server 401 alice nobody :No such nick\r\n");
  CHECK(error(2, v1::Error::NOT_IN_ROOM) ==
        ":chat-server 442 alice #lobby :You're not on that channel\r\n");
  taken =
      take_all(codec, "FOO bar\r\nPRIVMSG #lobby\r\nPRIVMSG #lobby :\xff\xfe\r\nMODE #lobby\r\n");
  CHECK(taken.requests.empty());
  CHECK(taken.replies ==
        ":chat-server 421 alice FOO :Unknown command\r\n"
        ":chat-server 412 alice :No text to send\r\n"
        ":chat-server FAIL PRIVMSG INVALID_UTF8 :Message rejected, your IRC "
        "software MUST use UTF-8\r\n"
        ":chat-server 324 alice #lobby +nt\r\n");
  taken = take_all(codec, "MODE alice +i\r\nMODE alice +w\r\n");
  CHECK(taken.replies ==
        ":alice!alice@chat MODE alice :+i\r\n"
        ":chat-server 501 alice :Unknown MODE flag\r\n");
  taken = take_all(codec, "QUIT :bye\r\n");
  CHECK(taken.ended);
  CHECK(codec.closing_frame(v1::Disconnect::REASON_UNSPECIFIED, "")->bytes ==
        "ERROR :Closing link: Quit: bye\r\n");
}

namespace {

v1::ServerFrame history_reply(std::uint64_t request_id, std::string_view room,
                              std::initializer_list<std::uint64_t> seqs) {
  v1::ServerFrame frame;
  frame.set_request_id(request_id);
  auto* reply = frame.mutable_history_reply();
  reply->set_room(std::string(room));
  for (const std::uint64_t seq : seqs) {
    auto* message = reply->add_messages();
    message->set_room(std::string(room));
    message->set_seq(seq);
    message->set_from("bob");
    message->set_text(fmt::format("m{}", seq));
    message->set_server_time_ms(1'700'000'000'000 + static_cast<std::int64_t>(seq));
  }
  return frame;
}

}  // namespace

TEST_CASE("CHATHISTORY asks History for the page its subcommand names, msgid references only") {
  IrcCodec codec = registered_codec("batch draft/chathistory message-tags");
  const Taken taken = take_all(codec,
                               "CHATHISTORY LATEST #a * 5\r\n"
                               "CHATHISTORY BEFORE #a msgid=9/a 3\r\n"
                               "CHATHISTORY AFTER #a msgid=9/a 3\r\n"
                               "CHATHISTORY AROUND #a msgid=20/a 10\r\n"
                               "CHATHISTORY BETWEEN #a msgid=4/a msgid=9/a 100\r\n"
                               "CHATHISTORY LATEST #a * 100000\r\n");
  REQUIRE(taken.requests.size() == 6);
  CHECK(taken.requests[0].history().latest());
  CHECK(taken.requests[0].history().limit() == 5);
  CHECK(taken.requests[1].history().before_seq() == 9);
  CHECK(taken.requests[2].history().after_seq() == 9);
  CHECK(taken.requests[3].history().after_seq() == 14);  // 20 in the middle of 15..24
  CHECK(taken.requests[4].history().after_seq() == 4);
  CHECK(taken.requests[5].history().limit() == 100);  // the server's limit (ISUPPORT)
  CHECK(taken.replies.empty());

  // BETWEEN shows only what is before its second reference; each answer has a batch of its own.
  CHECK(answer(codec, history_reply(taken.requests[4].request_id(), "a", {5, 8, 9, 10})) ==
        ":chat-server BATCH +5 chathistory #a\r\n"
        "@batch=5;time=2023-11-14T22:13:20.005Z;msgid=5/a :bob!bob@chat PRIVMSG #a :m5\r\n"
        "@batch=5;time=2023-11-14T22:13:20.008Z;msgid=8/a :bob!bob@chat PRIVMSG #a :m8\r\n"
        ":chat-server BATCH -5\r\n");
}

TEST_CASE("CHATHISTORY refuses what it cannot answer with the standard replies") {
  IrcCodec codec = registered_codec("batch draft/chathistory");
  const Taken taken = take_all(codec,
                               "CHATHISTORY FETCH #a * 5\r\n"
                               "CHATHISTORY LATEST #a\r\n"
                               "CHATHISTORY LATEST #a * none\r\n"
                               "CHATHISTORY BEFORE #a msgid=9/b 5\r\n"
                               "CHATHISTORY AFTER #a timestamp=2026-01-01T00:00:00.000Z 5\r\n"
                               "CHATHISTORY LATEST bob * 5\r\n"
                               "CHATHISTORY TARGETS timestamp=x * 5\r\n");
  CHECK(taken.requests.empty());
  CHECK(taken.replies ==
        ":chat-server FAIL CHATHISTORY UNKNOWN_COMMAND FETCH :Unknown command\r\n"
        ":chat-server FAIL CHATHISTORY NEED_MORE_PARAMS LATEST :Missing parameters\r\n"
        ":chat-server FAIL CHATHISTORY INVALID_PARAMS LATEST none :Invalid limit\r\n"
        ":chat-server FAIL CHATHISTORY INVALID_PARAMS BEFORE msgid=9/b :A message reference "
        "must be * or msgid= one of the room's msgids\r\n"
        ":chat-server FAIL CHATHISTORY INVALID_PARAMS AFTER timestamp=2026-01-01T00:00:00.000Z :A "
        "message reference must be * or msgid= one of the room's msgids\r\n"
        ":chat-server BATCH +1 chathistory bob\r\n"  // direct messages are not kept
        ":chat-server BATCH -1\r\n"
        ":chat-server FAIL CHATHISTORY INVALID_PARAMS TARGETS :TARGETS takes two timestamp= "
        "times and a limit\r\n");
}

TEST_CASE("CHATHISTORY TARGETS lists joined channels by their latest message, in time order") {
  IrcCodec codec = registered_codec("batch draft/chathistory");
  for (const char* room : {"a", "b", "c"}) {
    const Taken joined = take_all(codec, fmt::format("JOIN #{}\r\n", room));
    REQUIRE(joined.requests.size() == 2);  // no history after the JOIN: the client asks for it
    v1::ServerFrame reply;
    reply.set_request_id(joined.requests[0].request_id());
    reply.mutable_join_reply()->set_room(room);
    answer(codec, reply);
  }
  const Taken taken = take_all(codec,
                               "CHATHISTORY TARGETS timestamp=2023-11-14T22:13:20.000Z "
                               "timestamp=2023-11-14T22:13:20.050Z 5\r\n");
  REQUIRE(taken.requests.size() == 3);
  std::string out = answer(codec, history_reply(taken.requests[0].request_id(), "a", {40}));
  out += answer(codec, history_reply(taken.requests[1].request_id(), "b", {60}));  // too late
  CHECK(out.empty());
  CHECK(answer(codec, history_reply(taken.requests[2].request_id(), "c", {7})) ==
        ":chat-server BATCH +1 draft/chathistory-targets\r\n"
        "@batch=1 :chat-server CHATHISTORY TARGETS #c timestamp=2023-11-14T22:13:20.007Z\r\n"
        "@batch=1 :chat-server CHATHISTORY TARGETS #a timestamp=2023-11-14T22:13:20.040Z\r\n"
        ":chat-server BATCH -1\r\n");
}

TEST_CASE("The history after a JOIN comes in a chathistory batch for a client with batch") {
  IrcCodec codec = registered_codec("batch server-time");
  const Taken taken = take_all(codec, "JOIN #a\r\n");
  REQUIRE(taken.requests.size() == 3);
  v1::ServerFrame joined;
  joined.set_request_id(taken.requests[0].request_id());
  joined.mutable_join_reply()->set_room("a");
  answer(codec, joined);
  CHECK(answer(codec, history_reply(taken.requests[2].request_id(), "a", {1, 2})) ==
        ":chat-server BATCH +1 chathistory #a\r\n"
        "@batch=1;time=2023-11-14T22:13:20.001Z :bob!bob@chat PRIVMSG #a :m1\r\n"
        "@batch=1;time=2023-11-14T22:13:20.002Z :bob!bob@chat PRIVMSG #a :m2\r\n"
        ":chat-server BATCH -1\r\n");
}

TEST_CASE("ISO times are read back as the milliseconds they were written from") {
  using chat::server::irc::iso_time;
  using chat::server::irc::parse_iso_time;
  CHECK(parse_iso_time(iso_time(1'764'900'000'123)) == 1'764'900'000'123);
  CHECK(parse_iso_time("2025-12-05T01:02:03Z") == 1'764'896'523'000);
  CHECK_FALSE(parse_iso_time("2026-12-05 01:02:03Z"));
  CHECK_FALSE(parse_iso_time("2026-13-05T01:02:03.000Z"));
  CHECK_FALSE(parse_iso_time("2026-12-05T01:02:03.000"));
  CHECK_FALSE(parse_iso_time(""));
}

TEST_CASE("A tag is added to every line, and a batch tag not to a nested batch's lines") {
  using chat::server::irc::with_tag;
  CHECK(with_tag(":s PONG s :x\r\n@time=t :n PRIVMSG #a :y\r\n", "label=l") ==
        "@label=l :s PONG s :x\r\n@label=l;time=t :n PRIVMSG #a :y\r\n");
  CHECK(with_tag("@batch=2;time=t :n PRIVMSG #a :y\r\n:s BATCH -2\r\n", "batch=3") ==
        "@batch=2;time=t :n PRIVMSG #a :y\r\n@batch=3 :s BATCH -2\r\n");
}

TEST_CASE("labeled-response: one line labeled, none an ACK, several in a labeled-response batch") {
  IrcCodec codec = registered_codec("batch labeled-response");
  Taken taken = take_all(codec, "@label=a PING :x\r\n@label=b PONG :x\r\n@label=c MODE #a\r\n");
  CHECK(taken.replies ==
        "@label=a :chat-server PONG chat-server :x\r\n"
        "@label=b :chat-server ACK\r\n"
        "@label=c :chat-server 324 alice #a +nt\r\n");
  taken = take_all(codec, "@label=d JOIN #a,bad\r\n");  // two requests shown and a 403
  REQUIRE(taken.requests.size() == 3);
  CHECK(taken.replies ==
        "@label=d :chat-server BATCH +1 labeled-response\r\n"
        "@batch=1 :chat-server 403 alice bad :No such channel\r\n"
        ":chat-server BATCH -1\r\n");
  v1::ServerFrame joined;
  joined.set_request_id(taken.requests[0].request_id());
  joined.mutable_join_reply()->set_room("a");
  CHECK(answer(codec, joined) == "@batch=1 :alice!alice@chat JOIN #a\r\n");

  taken = take_all(codec, "@label=e NICK bob\r\n@label=f TOPIC #a :t\r\n");
  REQUIRE(taken.requests.size() == 2);
  v1::ServerFrame ok;
  ok.set_request_id(taken.requests[0].request_id());
  ok.mutable_ok();
  CHECK(answer(codec, ok) == "@label=e :alice!alice@chat NICK :bob\r\n");
  ok.set_request_id(taken.requests[1].request_id());
  CHECK(answer(codec, ok) == "@label=f :chat-server ACK\r\n");
}

TEST_CASE("draft/read-marker: MARKREAD before the names, and a time names the message shown") {
  IrcCodec codec("chat-server", {.history_on_join = 20, .catch_up_limit = 100, .users = {}});
  Taken taken = take_all(codec,
                         "PASS secret\r\nCAP LS 302\r\nCAP REQ :draft/read-marker server-time\r\n"
                         "NICK alice\r\nUSER alice 0 * :Alice\r\nCAP END\r\n");
  REQUIRE(taken.requests.size() == 1);
  v1::ServerFrame welcome;
  welcome.set_request_id(taken.requests[0].request_id());
  welcome.mutable_welcome()->set_nick("alice");
  auto* marker = welcome.mutable_welcome()->add_read_markers();
  marker->set_room("a");
  marker->set_seq(3);
  answer(codec, welcome);

  taken = take_all(codec, "JOIN #a\r\n");
  REQUIRE(taken.requests.size() == 4);  // Join, the marker's message, the names, the history
  CHECK(taken.requests[1].history().before_seq() == 4);
  CHECK(taken.requests[1].history().limit() == 1);
  CHECK(taken.requests[3].history().after_seq() == 3);
  v1::ServerFrame joined;
  joined.set_request_id(taken.requests[0].request_id());
  joined.mutable_join_reply()->set_room("a");
  CHECK(answer(codec, joined) == ":alice!alice@chat JOIN #a\r\n");
  CHECK(answer(codec, history_reply(taken.requests[1].request_id(), "a", {3})) ==
        ":chat-server MARKREAD #a timestamp=2023-11-14T22:13:20.003Z\r\n");
  answer(codec, history_reply(taken.requests[3].request_id(), "a", {4, 5, 6}));

  // The time of message 5 names it (6 is a millisecond later); an older time moves nothing.
  taken = take_all(codec,
                   "MARKREAD #a timestamp=2023-11-14T22:13:20.005Z\r\n"
                   "MARKREAD #a timestamp=2023-11-14T22:13:20.002Z\r\n");
  REQUIRE(taken.requests.size() == 2);
  CHECK(taken.requests[0].mark_read().seq() == 5);
  CHECK(taken.requests[1].has_ping());  // older than the marker: answered with the marker
  v1::ServerFrame ok;
  ok.set_request_id(taken.requests[0].request_id());
  ok.mutable_ok();
  CHECK(answer(codec, ok) == ":chat-server MARKREAD #a timestamp=2023-11-14T22:13:20.005Z\r\n");
  v1::ServerFrame pong;
  pong.set_request_id(taken.requests[1].request_id());
  pong.mutable_pong();
  CHECK(answer(codec, pong) == ":chat-server MARKREAD #a timestamp=2023-11-14T22:13:20.005Z\r\n");
}

TEST_CASE("TAGMSG with +typing=active is a Typing, other typing states and tags are not") {
  IrcCodec codec = registered_codec("message-tags labeled-response batch");
  const Taken taken = take_all(codec,
                               "@+typing=active TAGMSG #a\r\n@+typing=done TAGMSG #a\r\n"
                               "@+react=x TAGMSG #a\r\n@+typing=active TAGMSG bob\r\n"
                               "@label=t;+typing=active TAGMSG #a\r\n");
  REQUIRE(taken.requests.size() == 2);
  CHECK(taken.requests[0].typing().room() == "a");
  CHECK(taken.requests[0].request_id() == 0);  // never answered
  CHECK(taken.replies == "@label=t :chat-server ACK\r\n");
}
