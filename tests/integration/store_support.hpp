#pragma once
// Helpers for the tests of the durable store (durability, history, accounts and crash tests): a
// temporary data directory, requests that wait for their reply, history pages and logins.

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_client.hpp"
#include "test_server.hpp"

namespace chat::test {

// A fresh directory under the system's temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "chat-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// test_config() with a SQLite store in `dir`, so that a new server on the same config finds it.
inline server::ServerConfig sqlite_config(const TempDir& dir) {
  auto config = test_config();
  config.storage = "sqlite";
  config.data_dir = dir.str();
  return config;
}

inline v1::ClientFrame make_request(const std::function<void(v1::ClientFrame&)>& fill) {
  v1::ClientFrame frame;
  fill(frame);
  return frame;
}

// Sends a request and waits for its reply (or Error); throws when none comes.
inline v1::ServerFrame ask(TestClient& client, const v1::ClientFrame& frame) {
  auto reply = client.reply_to(client.send(frame));
  if (!reply) throw std::runtime_error("no reply to " + frame.ShortDebugString());
  return *reply;
}

inline v1::Error::Code error_code(const v1::ServerFrame& frame) {
  return frame.has_error() ? frame.error().code() : v1::Error::CODE_UNSPECIFIED;
}

// Sends "<prefix><i>" for i = 1..n, each waiting for its Ack; returns the sequences.
inline std::vector<std::uint64_t> say_n(TestClient& client, const std::string& room, int n,
                                        const std::string& prefix = "m") {
  std::vector<std::uint64_t> seqs;
  for (int i = 1; i <= n; ++i) {
    const auto reply = client.say(room, prefix + std::to_string(i));
    if (!reply.has_ack()) throw std::runtime_error("no Ack: " + reply.ShortDebugString());
    seqs.push_back(reply.ack().seq());
  }
  return seqs;
}

inline v1::ServerFrame history_frame(TestClient& client, const std::string& room,
                                     const std::function<void(v1::History&)>& position,
                                     std::uint32_t limit) {
  return ask(client, make_request([&](v1::ClientFrame& f) {
               f.mutable_history()->set_room(room);
               f.mutable_history()->set_limit(limit);
               position(*f.mutable_history());
             }));
}

// The HistoryReply to a History request; throws on an Error.
inline v1::HistoryReply history_of(TestClient& client, const std::string& room,
                                   const std::function<void(v1::History&)>& position,
                                   std::uint32_t limit) {
  const auto reply = history_frame(client, room, position, limit);
  if (!reply.has_history_reply()) throw std::runtime_error("History: " + reply.ShortDebugString());
  return reply.history_reply();
}

inline v1::HistoryReply history_after(TestClient& client, const std::string& room,
                                      std::uint64_t seq, std::uint32_t limit) {
  return history_of(
      client, room, [&](v1::History& h) { h.set_after_seq(seq); }, limit);
}
inline v1::HistoryReply history_before(TestClient& client, const std::string& room,
                                       std::uint64_t seq, std::uint32_t limit) {
  return history_of(
      client, room, [&](v1::History& h) { h.set_before_seq(seq); }, limit);
}
inline v1::HistoryReply history_latest(TestClient& client, const std::string& room,
                                       std::uint32_t limit) {
  return history_of(
      client, room, [](v1::History& h) { h.set_latest(true); }, limit);
}

inline std::vector<std::uint64_t> seqs_of(const v1::HistoryReply& reply) {
  std::vector<std::uint64_t> seqs;
  for (const auto& message : reply.messages()) seqs.push_back(message.seq());
  return seqs;
}

// first, first + 1, ..., last (empty when last < first).
inline std::vector<std::uint64_t> seq_range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> seqs;
  for (auto seq = first; seq <= last; ++seq) seqs.push_back(seq);
  return seqs;
}

// Every message of the room, paging History after_seq from 0 until has_more is false.
inline std::vector<v1::RoomMessage> all_history(TestClient& client, const std::string& room,
                                                std::uint32_t page = 500) {
  std::vector<v1::RoomMessage> messages;
  std::uint64_t after = 0;
  for (;;) {
    const auto reply = history_after(client, room, after, page);
    for (const auto& message : reply.messages()) messages.push_back(message);
    if (!reply.has_more() || reply.messages().empty()) return messages;
    after = reply.messages().rbegin()->seq();
  }
}

inline v1::ClientFrame hello_with(const std::string& nick, const std::string& password,
                                  const std::vector<v1::ResumeRoom>& resume = {}) {
  auto frame = hello_frame(nick);
  frame.mutable_hello()->set_password(password);
  for (const auto& room : resume) *frame.mutable_hello()->add_resume() = room;
  return frame;
}

// Sends Hello on a connection not welcomed yet and returns the answer (Welcome or Error).
inline v1::ServerFrame hello(TestClient& client, const std::string& nick,
                             const std::string& password = "",
                             const std::vector<v1::ResumeRoom>& resume = {}) {
  return ask(client, hello_with(nick, password, resume));
}

inline v1::ResumeRoom resume_room(const std::string& room, std::uint64_t last_seen_seq) {
  v1::ResumeRoom resume;
  resume.set_room(room);
  resume.set_last_seen_seq(last_seen_seq);
  return resume;
}

// Sends SetNick: frees the session's old nick (the server answers Ok once it is free).
inline v1::ServerFrame set_nick(TestClient& client, const std::string& nick) {
  return ask(client,
             make_request([&](v1::ClientFrame& f) { f.mutable_set_nick()->set_nick(nick); }));
}

// Every room message and Gap this client has skipped or receives until the room message with seq
// `last` or a Gap reaching it (or the deadline), in arrival order; they leave skipped(), other
// frames stay there.
inline std::vector<v1::ServerFrame> messages_until(TestClient& client, std::uint64_t last) {
  auto wanted = [](const v1::ServerFrame& f) { return f.has_room_message() || f.has_gap(); };
  auto is_last = [&](const v1::ServerFrame& f) {
    return (f.has_room_message() && f.room_message().seq() == last) ||
           (f.has_gap() && f.gap().to_seq() >= last);
  };
  std::vector<v1::ServerFrame> frames;
  auto& skipped = client.skipped();
  for (auto it = skipped.begin(); it != skipped.end();) {
    if (!wanted(*it)) {
      ++it;
      continue;
    }
    frames.push_back(*it);
    const bool done = is_last(*it);
    it = skipped.erase(it);
    if (done) return frames;
  }
  client.wait_for([&](const v1::ServerFrame& f) {
    if (wanted(f)) frames.push_back(f);
    return is_last(f);
  });
  std::erase_if(skipped, wanted);
  return frames;
}

// The first frame matching `match`, from skipped() (where reply_to() leaves events that came before
// a reply) or else arriving before the deadline.
inline std::optional<v1::ServerFrame> event(
    TestClient& client, const std::function<bool(const v1::ServerFrame&)>& match) {
  auto& skipped = client.skipped();
  for (auto it = skipped.begin(); it != skipped.end(); ++it) {
    if (match(*it)) {
      auto frame = std::move(*it);
      skipped.erase(it);
      return frame;
    }
  }
  return client.wait_for(match);
}

}  // namespace chat::test
