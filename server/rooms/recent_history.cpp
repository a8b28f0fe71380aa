#include "recent_history.hpp"

#include <algorithm>

#include "names.hpp"

namespace chat::server {

void RecentHistory::push(v1::RoomMessage message, std::size_t keep) {
  if (message.client_msg_id() != 0) {
    seq_by_client_id_.emplace(message.client_msg_id(), message.seq());
  }
  messages_.push_back(std::move(message));
  trim(keep);
}

// Sequences ascend but may skip one (a message the store refused is never kept): search, do not
// index by offset.
std::size_t RecentHistory::index_of(std::uint64_t seq) const {
  auto it = std::lower_bound(
      messages_.begin(), messages_.end(), seq,
      [](const v1::RoomMessage& message, std::uint64_t wanted) { return message.seq() < wanted; });
  if (it == messages_.end() || it->seq() != seq) return messages_.size();
  return static_cast<std::size_t>(it - messages_.begin());
}

v1::RoomMessage* RecentHistory::find(std::uint64_t seq) {
  const std::size_t index = index_of(seq);
  return index < messages_.size() ? &messages_[index] : nullptr;
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
  if (client_msg_id == 0) return nullptr;
  auto [first, last] = seq_by_client_id_.equal_range(client_msg_id);
  for (auto it = first; it != last; ++it) {
    const std::size_t index = index_of(it->second);
    if (index < messages_.size() && name_key(messages_[index].from()) == sender_key) {
      return &messages_[index];
    }
  }
  return nullptr;
}

}  // namespace chat::server
