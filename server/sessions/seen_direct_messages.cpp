#include "seen_direct_messages.hpp"

namespace chat::server {

bool SeenDirectMessages::first_time(std::string_view sender_key, std::uint64_t client_msg_id) {
  if (client_msg_id == 0 || capacity_ == 0) return true;
  std::string key(sender_key);
  key += '\n';
  key += std::to_string(client_msg_id);
  if (!seen_) seen_ = std::make_unique<Seen>();
  if (!seen_->keys.insert(key).second) return false;
  if (seen_->ring.size() < capacity_) {
    seen_->ring.push_back(std::move(key));
  } else {
    seen_->keys.erase(seen_->ring[seen_->next]);  // the oldest
    seen_->ring[seen_->next] = std::move(key);
    seen_->next = (seen_->next + 1) % capacity_;
  }
  return true;
}

}  // namespace chat::server
