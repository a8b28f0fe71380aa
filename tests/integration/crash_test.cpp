// chat-server as a real process on a SQLite data directory: killed with SIGKILL under load it
// loses no acknowledged message; a data directory it cannot use stops it at start-up.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "server_process.hpp"
#include "store_support.hpp"
#include "test_client.hpp"

using namespace chat;
using chat::test::TempDir;
using chat::test::TestClient;

namespace {

struct Acked {
  std::uint64_t seq = 0;
  std::string text;
};

// No rate limit: the clients send as fast as they can.
std::vector<std::string> server_flags(const TempDir& dir) {
  std::vector<std::string> flags{"--data-dir", dir.str(), "--storage", "sqlite"};
  flags.insert(flags.end(), {"--shards", std::to_string(test::test_config().shards)});
  flags.insert(flags.end(), {"--messages-per-second", "0", "--bytes-per-second", "0"});
  return flags;
}

struct Counters {
  std::atomic<int> joined{0};  // clients in the room
  std::atomic<int> acked{0};   // Acks received, all clients together
};

// One client: joins "crash" and sends "c<index>-m<n>" as fast as it can, keeping up to `window`
// Sends unacknowledged, recording every Ack, until the server closes the connection.

void flood(std::uint16_t port, int index, Counters& counters, std::vector<Acked>& acked,
           std::string& failure) {
  try {
    const std::string name = "c" + std::to_string(index);
    auto client = TestClient::connect_as(port, name);
    if (!client.join("crash").has_join_reply()) throw std::runtime_error(name + ": no JoinReply");
    counters.joined.fetch_add(1);
    constexpr std::size_t window = 16;
    std::map<std::uint64_t, std::string> pending;  // request id -> text
    int sent = 0;
    while (!client.closed()) {
      while (pending.size() < window) {
        std::string text = name + "-m" + std::to_string(++sent);
        v1::ClientFrame frame;
        frame.mutable_send()->set_room("crash");
        frame.mutable_send()->set_text(text);
        pending.emplace(client.send(frame), std::move(text));
      }
      const auto frame = client.next(std::chrono::seconds(10));
      if (!frame) break;  // closed (or the server stalled: the main thread finds out)
      const auto it = pending.find(frame->request_id());
      if (frame->request_id() == 0 || it == pending.end()) continue;  // others' messages
      if (frame->has_ack()) {
        acked.push_back({frame->ack().seq(), it->second});
        counters.acked.fetch_add(1);
      }
      pending.erase(it);
    }
  } catch (const std::exception& error) {
    failure = error.what();
  }
}

// Whether the process exited within the deadline; it stays a zombie for wait_exit to reap.
bool exits_within(pid_t pid, std::chrono::milliseconds deadline) {
  return test::eventually(
      [&] {
        siginfo_t info{};
        return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
               info.si_pid == pid;
      },
      deadline);
}

struct Outcome {
  bool exited = false;
  int status = -1;
  std::string err;
};

// Starts chat-server on `data_dir`; kills it when it does not exit by itself within 10 s.
Outcome start_on(const std::string& data_dir) {
  test::ChildProcess child({CHAT_SERVER_BINARY, "--listen", "127.0.0.1:0", "--web", "", "--irc-listen", "",
                            "--data-dir", data_dir, "--storage", "sqlite"});
  Outcome outcome;
  outcome.exited = exits_within(child.pid(), std::chrono::seconds(10));
  outcome.status = child.wait_exit(outcome.exited ? 0 : SIGKILL);
  outcome.err = child.err();
  return outcome;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("SIGKILL under load: every acknowledged message is stored, sequences have no holes") {
  TempDir dir;
  std::optional<test::ServerProcess> server(std::in_place, server_flags(dir));
  constexpr int clients = 4;
  Counters counters;
  std::vector<std::vector<Acked>> acked(clients);
  std::vector<std::string> failures(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back(flood, server->port(), i, std::ref(counters), std::ref(acked[i]),
                         std::ref(failures[i]));
  }
  // Every client is in the room before the kill, so each has Sends in flight when it comes.
  const bool reached = test::eventually(
      [&] { return counters.joined.load() == clients && counters.acked.load() >= 300; },
      std::chrono::seconds(60));
  CHECK(server->stop(SIGKILL) == -1);
  for (auto& thread : threads) thread.join();
  for (const auto& failure : failures) CHECK_MESSAGE(failure.empty(), failure);
  REQUIRE(reached);

  server.emplace(server_flags(dir));
  auto checker = TestClient::connect_as(server->port(), "checker");
  const auto joined = test::ask(checker, test::make_request([](v1::ClientFrame& f) {
                                  f.mutable_join()->set_room("crash");
                                  f.mutable_join()->set_history(0);
                                }));
  REQUIRE(joined.has_join_reply());
  const std::uint64_t last_seq = joined.join_reply().last_seq();
  const auto stored = test::all_history(checker, "crash", 500);
  REQUIRE(stored.size() == last_seq);

  std::map<std::uint64_t, std::string> text_of;
  std::set<std::string> texts;
  std::size_t out_of_place = 0;
  std::size_t repeated = 0;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    if (stored[i].seq() != i + 1) ++out_of_place;  // 1..N, no hole, no repeat
    if (!texts.insert(stored[i].text()).second) ++repeated;
    text_of[stored[i].seq()] = stored[i].text();
  }
  CHECK(out_of_place == 0);
  CHECK(repeated == 0);

  std::size_t acknowledged = 0;
  std::size_t lost = 0;
  std::set<std::uint64_t> acked_seqs;
  for (const auto& per_client : acked) {
    for (const auto& [seq, text] : per_client) {
      ++acknowledged;
      acked_seqs.insert(seq);
      const auto it = text_of.find(seq);
      if (it == text_of.end() || it->second != text) ++lost;
    }
  }
  CHECK(acknowledged >= 300);
  CHECK(acked_seqs.size() == acknowledged);  // no two Acks share a sequence
  CHECK(lost == 0);
  CHECK(last_seq >= acknowledged);
  CHECK(checker.say("crash", "after the crash").ack().seq() == last_seq + 1);
}

TEST_CASE("a chat.db that is not a database stops start-up with an error naming it") {
  TempDir dir;
  const auto db = dir.path() / "chat.db";
  std::string garbage;
  for (int i = 0; garbage.size() < 8192; ++i) garbage += "garbage " + std::to_string(i) + "\n";
  std::ofstream(db, std::ios::binary) << garbage;

  const auto outcome = start_on(dir.str());
  CHECK(outcome.exited);
  CHECK(outcome.status == 1);
  CHECK_MESSAGE(contains(outcome.err, "chat.db"), outcome.err);
  CHECK_MESSAGE(contains(outcome.err, "not a database"), outcome.err);
  CHECK_FALSE(contains(outcome.err, "listening on"));
  // The user's file is left as it was: nothing is "repaired" or overwritten.
  std::ifstream in(db, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(after == garbage);
}

TEST_CASE("a data directory that is a regular file stops start-up with an error naming it") {
  TempDir dir;
  const std::string path = (dir.path() / "not-a-directory").string();
  std::ofstream(path) << "just a file\n";

  const auto outcome = start_on(path);
  CHECK(outcome.exited);
  CHECK(outcome.status == 1);
  CHECK_MESSAGE(contains(outcome.err, path), outcome.err);
  CHECK_FALSE(contains(outcome.err, "listening on"));
}
