#pragma once
// One page of history in a HistoryReply, whether memory or the store found the messages.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "chat.pb.h"

namespace chat::server {

// Adds the messages of [first, last] to reply, oldest first when ascending (else the newest),
// within budget bytes (at least one). True when some were left out.
template <class Messages>
bool add_within(v1::HistoryReply& reply, const Messages& messages, std::uint64_t first,
                std::uint64_t last, bool ascending, std::size_t budget) {
  std::vector<const v1::RoomMessage*> chosen;
  auto take = [&](const v1::RoomMessage& message) {
    if (message.seq() < first || message.seq() > last) return true;
    const std::size_t size = message.ByteSizeLong() + 8;
    if (size > budget && !chosen.empty()) return false;
    budget -= std::min(size, budget);
    chosen.push_back(&message);
    return true;
  };
  bool cut = false;
  if (ascending) {
    for (auto it = messages.begin(); it != messages.end() && !cut; ++it) cut = !take(*it);
  } else {
    for (auto it = messages.rbegin(); it != messages.rend() && !cut; ++it) cut = !take(*it);
    std::reverse(chosen.begin(), chosen.end());
  }
  for (const v1::RoomMessage* message : chosen) *reply.add_messages() = *message;
  return cut;
}

}  // namespace chat::server
