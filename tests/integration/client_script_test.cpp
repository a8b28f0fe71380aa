// chat-client --script end to end: real client processes against a real chat-server process,
// talking through stdin (commands) and stdout (one JSON object per line).
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "server_process.hpp"
#include "tls_support.hpp"

using chat::test::ChildProcess;
using chat::test::ServerProcess;
using namespace std::chrono_literals;

namespace {

ChildProcess script_client(std::uint16_t port, const std::string& nick,
                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args{
      CHAT_CLIENT_BINARY, "--nick", nick, "--server", "127.0.0.1:" + std::to_string(port),
      "--script"};
  args.insert(args.end(), extra.begin(), extra.end());
  return ChildProcess(std::move(args));
}

ChildProcess script_client(const ServerProcess& server, const std::string& nick,
                           std::vector<std::string> extra = {}) {
  return script_client(server.port(), nick, std::move(extra));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE("two chat-client processes in script mode talk through a real chat-server") {
  ServerProcess server({});
  ChildProcess alice = script_client(server, "alice", {"--room", "lobby"});
  REQUIRE_MESSAGE(alice.wait_for_out(R"("event":"joined")", 10s), alice.err());

  ChildProcess bob = script_client(server, "bob");
  bob.write("/join lobby\nhello alice\n/me waves\n/msg alice psst\n");
  bob.close_stdin();
  CHECK_MESSAGE(bob.wait_exit() == 0, bob.err());  // after every send was acknowledged
  CHECK(count_of(bob.out(), R"("event":"sent")") == 2);
  CHECK(count_of(bob.out(), R"("event":"direct_sent")") == 1);

  CHECK(alice.wait_for_out(R"("text":"hello alice")", 10s));
  CHECK(alice.wait_for_out(R"("action":true)", 10s));
  CHECK(alice.wait_for_out(R"({"event":"direct_message","data":{"from":"bob","text":"psst")", 10s));
  alice.write("hi bob\n");
  alice.close_stdin();
  CHECK_MESSAGE(alice.wait_exit() == 0, alice.err());
  CHECK(count_of(alice.out(), R"("event":"sent")") == 1);
  CHECK(alice.err().empty());
  for (const std::string& line : lines_of(alice.out() + bob.out())) {
    CHECK_MESSAGE((line.starts_with("{\"event\":") && line.ends_with("}")), line);
  }
}

TEST_CASE("script mode: bad input gets one line on stderr, the rest still runs, exit 1") {
  ServerProcess server({});
  ChildProcess carol = script_client(server, "carol");
  carol.write("/bogus\n/join\n\xff\xfe\nno room yet\n" + std::string(20'000, 'a') + "\n");
  carol.write("/join lobby\n/history zero\n/msg nobody hi\nafter the errors\n");
  carol.close_stdin();
  CHECK(carol.wait_exit() == 1);
  const auto errors = lines_of(carol.err());
  REQUIRE(errors.size() == 7);
  CHECK(errors[0] == "chat-client: unknown command /bogus (try /help)");
  CHECK(errors[1] == "chat-client: usage: /join ROOM");
  CHECK(errors[2] == "chat-client: line is not valid UTF-8");
  CHECK(errors[3] == "chat-client: not in a room: /join one first");
  CHECK(errors[4] == "chat-client: line too long: more than 8192 bytes");
  CHECK(errors[5] == "chat-client: usage: /history [N]");
  CHECK(errors[6] == "chat-client: no one is called nobody");
  CHECK(count_of(carol.out(), R"("text":"after the errors")") >= 1);
  CHECK(count_of(carol.out(), R"("event":"sent")") == 1);
}

TEST_CASE("script mode: an unreachable server is one line on stderr and exit 1") {
  ChildProcess lost({CHAT_CLIENT_BINARY, "--nick", "lost", "--server", "127.0.0.1:1", "--script"});
  lost.close_stdin();
  CHECK(lost.wait_exit() == 1);
  CHECK(lost.err().starts_with("chat-client: cannot connect to 127.0.0.1:1"));
  CHECK(lines_of(lost.err()).size() == 1);
}

TEST_CASE("chat-client refuses bad flags with exit 2 before connecting") {
  ChildProcess bad({CHAT_CLIENT_BINARY, "--nick", "9lives", "--script"});
  CHECK(bad.wait_exit() == 2);
  CHECK(bad.err() ==
        "chat-client: --nick: '9lives' starts with a character that is not allowed there\n");
}

TEST_CASE(
    "a registered nick's read marker follows what it saw, and the next session counts from it") {
  ServerProcess server({});
  ChildProcess alice = script_client(server, "alice");
  alice.write("/register secret-pass\n/join lobby\n");
  REQUIRE_MESSAGE(alice.wait_for_out(R"("event":"joined")", 10s), alice.err());
  ChildProcess bob = script_client(server, "bob");
  bob.write("/join lobby\none\ntwo\nthree\n");
  bob.close_stdin();
  CHECK(bob.wait_exit() == 0);
  REQUIRE(alice.wait_for_out(R"("text":"three")", 10s));
  alice.close_stdin();  // it exits once its read marker is stored
  CHECK_MESSAGE(alice.wait_exit() == 0, alice.err());

  ChildProcess carol = script_client(server, "carol");
  carol.write("/join lobby\nfour\nfive\n");
  carol.close_stdin();
  CHECK(carol.wait_exit() == 0);
  ChildProcess back =
      script_client(server, "alice", {"--password", "secret-pass", "--room", "lobby"});
  back.close_stdin();
  CHECK_MESSAGE(back.wait_exit() == 0, back.err());
  CHECK(count_of(back.out(), "2 new since you were last here") == 1);
}

TEST_CASE("chat-client --tls --ca-file talks through a chat-server's TLS port in script mode") {
  chat::test::CertificateDir dir;
  const auto& certs = dir.certs();
  ServerProcess server({"--tls-listen", "127.0.0.1:0", "--tls-cert", certs.server_cert.string(),
                        "--tls-key", certs.server_key.string()});
  const std::uint16_t tls_port = server.logged_port("listening for TLS on 127.0.0.1:");
  ChildProcess alice = script_client(
      tls_port, "alice", {"--tls", "--ca-file", certs.ca_cert.string(), "--room", "lobby"});
  REQUIRE_MESSAGE(alice.wait_for_out(R"("event":"joined")", 10s), alice.err());

  ChildProcess bob = script_client(server, "bob");  // plain text, in the same room
  bob.write("/join lobby\nhello over TLS\n");
  bob.close_stdin();
  CHECK_MESSAGE(bob.wait_exit() == 0, bob.err());
  CHECK(alice.wait_for_out(R"("text":"hello over TLS")", 10s));
  alice.write("and back\n");
  alice.close_stdin();
  CHECK_MESSAGE(alice.wait_exit() == 0, alice.err());
  CHECK(count_of(alice.out(), R"("event":"sent")") == 1);
  CHECK(alice.err().empty());

  // --insecure connects without checking, and says so.
  ChildProcess careless = script_client(tls_port, "carol", {"--tls", "--insecure"});
  careless.write("/join lobby\nunchecked\n");
  careless.close_stdin();
  CHECK(careless.wait_exit() == 0);
  CHECK(careless.err().starts_with("chat-client: warning: --insecure:"));
  CHECK(lines_of(careless.err()).size() == 1);
}

TEST_CASE("chat-client refuses a TLS server it does not trust: one line, exit 1") {
  chat::test::CertificateDir dir;
  const auto& certs = dir.certs();
  ServerProcess server({"--tls-listen", "127.0.0.1:0", "--tls-cert", certs.server_cert.string(),
                        "--tls-key", certs.server_key.string()});
  const std::uint16_t tls_port = server.logged_port("listening for TLS on 127.0.0.1:");
  ChildProcess doubter =
      script_client(tls_port, "dave", {"--tls", "--ca-file", certs.other_ca_cert.string()});
  doubter.close_stdin();
  CHECK(doubter.wait_exit() == 1);
  CHECK(doubter.err() == "chat-client: TLS with 127.0.0.1:" + std::to_string(tls_port) +
                             ": TLS handshake failed: certificate rejected: unable to get local "
                             "issuer certificate\n");

  ChildProcess lost = script_client(server, "erin", {"--tls", "--ca-file", certs.ca_cert.string()});
  lost.close_stdin();
  CHECK(lost.wait_exit() == 1);
  CHECK(lost.err() == "chat-client: TLS with 127.0.0.1:" + std::to_string(server.port()) +
                          ": the server did not answer with TLS (is this its plain-text port?)\n");
}

TEST_CASE("chat-client refuses bad TLS flags with exit 2 and one line") {
  chat::test::CertificateDir dir;
  const std::string ca = dir.certs().ca_cert.string();
  struct Case {
    std::vector<std::string> flags;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"--insecure"}, "chat-client: --insecure needs --tls\n"},
           {{"--ca-file", ca}, "chat-client: --ca-file needs --tls\n"},
           {{"--tls", "--ca-file", "/does/not/exist.pem"},
            "chat-client: --ca-file: File does not exist: /does/not/exist.pem (see --help)\n"},
           {{"--tls", "--insecure", "--ca-file", ca},
            "chat-client: --insecure and --ca-file: choose one\n"},
       }) {
    CAPTURE(c.flags.back());
    std::vector<std::string> args{CHAT_CLIENT_BINARY, "--nick", "alice", "--script"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    ChildProcess bad(std::move(args));
    CHECK(bad.wait_exit() == 2);
    CHECK(bad.err() == c.error);
  }
}
