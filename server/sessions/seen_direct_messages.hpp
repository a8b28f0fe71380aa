#pragma once
// The direct messages a session received lately, by sender and client_msg_id, so that a resend
// (after a lost Ok or a reconnect of the sender) is delivered once, as a room message is stored
// once.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace chat::server {

class SeenDirectMessages {
 public:
  explicit SeenDirectMessages(std::size_t capacity = 256) : capacity_(capacity) {}

  // True the first time (sender_key, client_msg_id) is seen among the last capacity ones; always
  // true for client_msg_id 0 ("no de-duplication").
  bool first_time(std::string_view sender_key, std::uint64_t client_msg_id);

 private:
  struct Seen {
    std::unordered_set<std::string> keys;
    std::vector<std::string> ring;  // in arrival order from next, overwritten beyond capacity
    std::size_t next = 0;
  };
  std::size_t capacity_;
  std::unique_ptr<Seen> seen_;  // made with the first direct message: most sessions get none
};

}  // namespace chat::server
