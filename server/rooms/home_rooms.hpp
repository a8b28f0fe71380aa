#pragma once
// The rooms whose home is this shard: their members (on every shard), sequence counter, topic and
// recent history. Every operation runs on the home shard's thread, arrives as a post from the
// requesting session's shard, and answers by posting back; no lock anywhere.

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat.pb.h"
#include "cluster_types.hpp"
#include "framing.hpp"
#include "room.hpp"
#include "room_requests.hpp"
#include "session_ref.hpp"
#include "store_types.hpp"

namespace chat::server {

class Shard;
struct ServerContext;

class HomeRooms {
 public:
  HomeRooms(Shard& shard, ServerContext& context) : shard_(shard), context_(context) {}

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

  // Cluster mode (home_rooms_cluster.cpp): a message sequenced by Redis, as every node receives it.
  void on_bus_message(const std::string& key, v1::RoomMessage message);
  // Redis may have lost what this node recorded (it came back, or took the node for dead): its
  // members of every room here are recorded again (idempotent), and each room reads from its
  // stream what its channel did not carry meanwhile.
  void rejoin();
  void catch_up(const std::string& key);
  // The room's channel is back after a loss: its stream and its members are read again.
  void resync(const std::string& key);
  // (home_rooms_presence.cpp) A member joined or left on another node; a node stopped (its
  // members leave every room).
  void on_presence(const std::string& key, Presence presence);
  void on_node_lost(const std::string& node);
  // A topic change (made on any node, this one too), or an edit or delete made on another node.
  void on_room_event(const std::string& key, v1::ServerFrame event);

 private:
  // How many messages memory keeps per room: history_in_memory, or fewer when retention keeps
  // fewer (memory never shows what the store has dropped).
  std::size_t memory_keep() const;
  // Applies retention by age to the room's memory.
  void expire(Room& room) const;
  // Posts frame once to every shard with members of room, which queues it to its local members.
  void broadcast(const std::string& key, const Room& room, const SharedFrame& frame);
  // Presence (join, leave, nick, typing) is not broadcast in rooms above max_presence_members:
  // a mass join into a room of N would cost N^2 events.
  void broadcast_presence(const std::string& key, const Room& room, const SharedFrame& frame);
  // A member's passing event (typing, away) to the room on every node; room_field (inside event)
  // gets the room's name. Nothing when who is not a member.
  void relay_member_event(const std::string& key, SessionRef who, v1::ServerFrame& event,
                          std::string& room_field);
  void on_topic_stored(const std::string& key, SessionRef who, std::uint64_t request_id,
                       const v1::ServerFrame& event, const storage::WriteResult& stored);
  void reply_error(SessionRef to, std::uint64_t request_id, v1::Error::Code code,
                   std::string message);
  Room* find_member_room(const std::string& key, SessionRef who, std::uint64_t request_id);
  // home_rooms_publish.cpp
  void on_stored(const std::string& key, v1::RoomMessage message, const Requester& sender,
                 std::chrono::steady_clock::time_point received_at, const std::string& sender_key,
                 const storage::AppendResult& stored);
  void acknowledge(const Requester& to, const std::string& room, std::uint64_t seq,
                   std::uint64_t client_msg_id, bool duplicate);
  void refuse_join(const JoinArgs& join, v1::Error::Code code, const char* why);
  // home_rooms_cluster.cpp
  void start_loading(const std::string& key, Room& room);
  void on_subscribed(const std::string& key);
  void on_loaded(const std::string& key, LoadedRoom loaded);
  // Where a room's MessageOrder puts what is in order (home_rooms_cluster.cpp).
  class OrderedOutput;
  void deliver_next(const std::string& key, Room& room, v1::RoomMessage message);
  void release_acks(Room& room);
  void on_caught_up(const std::string& key, std::uint64_t read, storage::HistoryResult result);
  void catch_up_later(const std::string& key, int attempt);
  // A change from the channel: shown when it changes what this node shows.
  void apply_presence(const std::string& key, Room& room, const Presence& presence);
  void show_presence(const std::string& key, const Room& room, const Presence& presence);
  void read_members(const std::string& key);
  void on_members_read(const std::string& key, std::uint64_t read,
                       const std::optional<RoomMembers>& members);
  // home_rooms_changes.cpp
  void on_changed(const ChangeArgs& args, const storage::EditResult& result);
  // home_rooms_history.cpp
  void history_from_store(const std::string& key, const Room& room, SessionRef asker,
                          const v1::History& query, std::uint32_t limit, std::uint64_t request_id);

  Shard& shard_;
  ServerContext& context_;
  std::unordered_map<std::string, Room> rooms_;  // by name_key
};

}  // namespace chat::server
