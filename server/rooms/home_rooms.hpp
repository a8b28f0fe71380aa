#pragma once
// The rooms whose home is this shard: their members (on every shard), sequence counter, topic and
// recent history. Every operation runs on the home shard's thread, arrives as a post from the
// requesting session's shard, and answers by posting back (RoomFanout); no lock anywhere. Each
// room's state and what follows from it alone is a Room; what differs between one node and a
// cluster is the RoomSharing (SingleNodeSharing or ClusterRooms).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat.pb.h"
#include "cluster_types.hpp"
#include "framing.hpp"
#include "room.hpp"
#include "room_fanout.hpp"
#include "room_requests.hpp"
#include "room_sharing.hpp"
#include "session_ref.hpp"
#include "store_types.hpp"

namespace chat::server {

class ClusterRooms;
class Shard;
struct ServerContext;

class HomeRooms {
 public:
  HomeRooms(Shard& shard, ServerContext& context);
  ~HomeRooms();

  // Start-up, before the shard runs: a room the store knows, with its newest messages.
  void restore(const storage::RoomRecord& record, std::vector<v1::RoomMessage> recent);
  void join(JoinArgs args);
  // A member leaves: it asked (Leave), or its connection ended (quit).
  void leave(const std::string& key, SessionRef who, const std::string& reason, bool quit);
  void publish(PublishArgs args);
  void typing(const std::string& key, SessionRef who, const std::string& nick);
  // A member went away (message) or came back (empty): AwayChanged to the room.
  void away(const std::string& key, SessionRef who, const std::string& nick,
            const std::string& message);
  void rename(const std::string& key, SessionRef who, const std::string& new_nick);
  void set_topic(const std::string& key, SessionRef who, const std::string& topic,
                 std::uint64_t request_id);
  void who(const std::string& key, SessionRef asker, std::uint64_t request_id,
           std::uint32_t limit = 0);
  void history(const std::string& key, SessionRef asker, const v1::History& query,
               std::uint64_t request_id);
  void change(ChangeArgs args);
  // Keeps a registered nick's read marker (clamped to the room's last sequence).
  void mark_read(const std::string& key, SessionRef who, std::string account_key, std::uint64_t seq,
                 std::uint64_t request_id);
  // The rooms here whose key starts with prefix_key.
  std::vector<v1::RoomInfo> list(const std::string& prefix_key) const;
  std::size_t room_count() const { return rooms_.size(); }
  std::size_t member_count() const;

  // What the rooms' sharing (single node or cluster) works with.
  Shard& shard() { return shard_; }
  RoomFanout& fanout() { return fanout_; }
  // The cluster part, which the engine's news goes to; null on a single node.
  ClusterRooms* cluster() { return cluster_; }
  Room* find(const std::string& key);
  void forget(const std::string& key) { rooms_.erase(key); }
  void for_each_room(const std::function<void(const std::string& key, Room& room)>& visit);
  // How many messages memory keeps per room: history_in_memory, or fewer when retention keeps
  // fewer (memory never shows what the store has dropped).
  std::size_t memory_keep() const;

 private:
  // Applies retention by age to the room's memory.
  void expire(Room& room) const;
  // A member's passing event (typing, away) to the room on every node; room_field (inside event)
  // gets the room's name. Nothing when who is not a member.
  void relay_member_event(const std::string& key, SessionRef who, v1::ServerFrame& event,
                          std::string& room_field);
  void on_topic_stored(const std::string& key, SessionRef who, std::uint64_t request_id,
                       const v1::ServerFrame& event, const storage::WriteResult& stored);
  Room* find_member_room(const std::string& key, SessionRef who, std::uint64_t request_id);
  void on_stored(const std::string& key, v1::RoomMessage message, const Requester& sender,
                 std::chrono::steady_clock::time_point received_at, const std::string& sender_key,
                 const storage::AppendResult& stored);
  void on_changed(const ChangeArgs& args, const storage::EditResult& result);
  void history_from_store(const std::string& key, const Room& room, SessionRef asker,
                          const v1::History& query, std::uint32_t limit, std::uint64_t request_id);

  Shard& shard_;
  ServerContext& context_;
  RoomFanout fanout_;
  std::unique_ptr<RoomSharing> sharing_;
  ClusterRooms* cluster_ = nullptr;              // sharing_, in cluster mode
  std::unordered_map<std::string, Room> rooms_;  // by name_key
};

}  // namespace chat::server
