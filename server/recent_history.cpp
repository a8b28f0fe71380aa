#include "recent_history.hpp"

#include "names.hpp"

namespace chat::server {

void RecentHistory::push(v1::RoomMessage message, std::size_t keep) {
  if (message.client_msg_id() != 0) {
    seq_by_client_id_.emplace(message.client_msg_id(), message.seq());
  }
  messages_.push_back(std::move(message));
  trim(keep);
}

v1::RoomMessage* RecentHistory::find(std::uint64_t seq) {
  if (messages_.empty() || seq < messages_.front().seq() || seq > messages_.back().seq()) {
    return nullptr;
  }
  return &messages_[seq - messages_.front().seq()];
}

void RecentHistory::trim(std::size_t keep) {
  while (messages_.size() > keep) pop_oldest();
}

void RecentHistory::drop_older_than(std::int64_t cutoff_ms) {
  while (!messages_.empty() && messages_.front().server_time_ms() < cutoff_ms) pop_oldest();
}

void RecentHistory::pop_oldest() {
  const v1::RoomMessage& oldest = messages_.front();
  if (oldest.client_msg_id() != 0) {
    auto [first, last] = seq_by_client_id_.equal_range(oldest.client_msg_id());
    for (auto it = first; it != last; ++it) {
      if (it->second == oldest.seq()) {
        seq_by_client_id_.erase(it);
        break;
      }
    }
  }
  messages_.pop_front();
}

const v1::RoomMessage* RecentHistory::find_sent(std::string_view sender_key,
                                                std::uint64_t client_msg_id) const {
  if (client_msg_id == 0 || messages_.empty()) return nullptr;
  const std::uint64_t first_seq = messages_.front().seq();
  auto [first, last] = seq_by_client_id_.equal_range(client_msg_id);
  for (auto it = first; it != last; ++it) {
    const v1::RoomMessage& message = messages_[it->second - first_seq];
    if (name_key(message.from()) == sender_key) return &message;
  }
  return nullptr;
}

}  // namespace chat::server
