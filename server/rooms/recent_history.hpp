#pragma once
// A room's last messages in memory (join history, resume, History paging), indexed by
// client_msg_id so that a message sent again after a lost Ack is recognised and not stored twice.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_map>

#include "chat.pb.h"

namespace chat::server {

class RecentHistory {
 public:
  // Appends a message (sequences ascending) and forgets the oldest beyond keep.
  void push(v1::RoomMessage message, std::size_t keep);
  // Forgets all but the newest keep messages.
  void trim(std::size_t keep);
  // Forgets the messages stored before cutoff_ms (retention by age).
  void drop_older_than(std::int64_t cutoff_ms);
  const std::deque<v1::RoomMessage>& messages() const { return messages_; }
  // The kept message with this sequence (to edit or delete it in place), if any.
  v1::RoomMessage* find(std::uint64_t seq);
  // The kept message that sender_key (a name_key) sent with this client_msg_id, if any.
  const v1::RoomMessage* find_sent(std::string_view sender_key, std::uint64_t client_msg_id) const;

 private:
  void pop_oldest();
  // The position of the message with this sequence, or messages_.size() when it is not kept.
  std::size_t index_of(std::uint64_t seq) const;

  std::deque<v1::RoomMessage> messages_;
  std::unordered_multimap<std::uint64_t, std::uint64_t> seq_by_client_id_;
};

}  // namespace chat::server
