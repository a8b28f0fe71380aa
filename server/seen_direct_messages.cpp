#include "seen_direct_messages.hpp"

namespace chat::server {

bool SeenDirectMessages::first_time(std::string_view sender_key, std::uint64_t client_msg_id) {
  if (client_msg_id == 0 || capacity_ == 0) return true;
  std::string key(sender_key);
  key += '\n';
  key += std::to_string(client_msg_id);
  if (!seen_.insert(key).second) return false;
  if (ring_.size() < capacity_) {
    ring_.push_back(std::move(key));
  } else {
    seen_.erase(ring_[next_]);  // the oldest
    ring_[next_] = std::move(key);
    next_ = (next_ + 1) % capacity_;
  }
  return true;
}

}  // namespace chat::server
