#pragma once
// What a session asks of a room's home shard: the arguments of a join, a message, an edit.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "session_ref.hpp"

namespace chat::server {

// Who is answered: the session, with the id of its request.
struct Requester {
  SessionRef who;
  std::uint64_t request_id = 0;
};

struct JoinArgs {
  std::string room;  // as the client spelled it
  std::string key;   // name_key(room)
  SessionRef who;
  std::string nick;
  bool account = false;          // logged in to the registered account nick (MemberJoined)
  std::string real_name;         // from Hello (MemberJoined)
  std::uint64_t request_id = 0;  // 0 for a resume without a request
  std::uint32_t history = 0;     // recent messages to send first
  std::optional<std::uint64_t> resume_after;  // instead: everything after this sequence
};

struct PublishArgs {
  std::string key;
  SessionRef who;
  std::string nick;
  std::string text;
  std::uint64_t client_msg_id = 0;
  bool action = false;
  bool account = false;  // the sender is logged in to the registered account nick
  bool notice = false;
  std::uint64_t request_id = 0;
  std::chrono::steady_clock::time_point received_at;  // for the acknowledgement latency
};

// Edit (new text) or delete one's own message.
struct ChangeArgs {
  std::string key;
  SessionRef who;
  std::string nick;
  std::uint64_t seq = 0;
  std::string text;
  bool remove = false;
  std::uint64_t request_id = 0;
};

}  // namespace chat::server
