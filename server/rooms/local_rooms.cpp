#include "local_rooms.hpp"

#include <algorithm>

#include "client_session.hpp"

namespace chat::server {

void LocalRooms::add(const std::string& room_key, ClientSession* session) {
  auto& members = members_[room_key];
  if (std::find(members.begin(), members.end(), session) == members.end())
    members.push_back(session);
}

void LocalRooms::remove(const std::string& room_key, ClientSession* session) {
  auto it = members_.find(room_key);
  if (it == members_.end()) return;
  auto& members = it->second;
  auto pos = std::find(members.begin(), members.end(), session);
  if (pos != members.end()) {
    *pos = members.back();
    members.pop_back();
  }
  if (members.empty()) members_.erase(it);
}

std::size_t LocalRooms::deliver(const std::string& room_key, const SharedFrame& frame) {
  auto it = members_.find(room_key);
  if (it == members_.end()) return 0;
  for (ClientSession* session : it->second) session->deliver(frame);
  return it->second.size();
}

std::size_t LocalRooms::member_count(const std::string& room_key) const {
  auto it = members_.find(room_key);
  return it == members_.end() ? 0 : it->second.size();
}

}  // namespace chat::server
