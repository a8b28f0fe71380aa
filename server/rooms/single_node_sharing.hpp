#pragma once
// A room on one node (the embedded store): a stored message goes to the members at once, a topic
// is shown once stored, and a room with no members stays in memory while the store has anything
// of it (what the next join shows).

#include "room_sharing.hpp"

namespace chat::server {

class HomeRooms;

class SingleNodeSharing final : public RoomSharing {
 public:
  explicit SingleNodeSharing(HomeRooms& rooms) : rooms_(rooms) {}

  bool clustered() const override { return false; }
  void hold_join(JoinArgs join, Room& room) override;
  void announce(const std::string&, const Room&, std::uint64_t, const Presence&, bool) override {}
  bool keep_when_empty(const std::string& key, Room& room) override;
  void relay(const std::string&, const v1::ServerFrame&) override {}
  void store_topic(const std::string& key, const Room& room, const v1::ServerFrame& event,
                   std::function<void(storage::WriteResult)> done) override;
  void topic_stored(const std::string& key, Room& room, const v1::ServerFrame& event) override;
  v1::Error::Code refusal_when_not_stored() const override { return v1::Error::INTERNAL; }
  void on_stored(const std::string& key, Room& room, v1::RoomMessage&& message,
                 const Requester& sender, const std::vector<Requester>& resent,
                 std::chrono::steady_clock::time_point received_at) override;

 private:
  HomeRooms& rooms_;
};

}  // namespace chat::server
