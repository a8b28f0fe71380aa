#pragma once
// One room's state on its home shard, and the decisions that need nothing else: who its members
// are and on which shards, the settled sequence, what memory keeps of its history and what a join,
// a resume or a History request is answered from it, which sends are still on their way to the
// store. No I/O and no threads: HomeRooms does what the answers say, and tests ask them directly.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat.pb.h"
#include "cluster_room.hpp"
#include "cluster_types.hpp"
#include "framing.hpp"
#include "message_order.hpp"
#include "recent_history.hpp"
#include "room_requests.hpp"
#include "session_ref.hpp"

namespace chat::server {

// A room message as the chat frame every member gets (encoded once).
SharedFrame room_message_frame(const v1::RoomMessage& message, const std::string& room);
// A member joining, leaving or changing nick, on this node or another, as the event members see
// (MemberJoined, MemberLeft, NickChanged).
SharedFrame presence_frame(const std::string& room, const Presence& presence);

class Room {
 public:
  struct Member {
    SessionRef ref;
    std::string nick;
  };
  using Members = std::unordered_map<std::uint64_t, Member>;  // by session id

  // A room of a server with shard_count shards; in cluster mode it starts not live (it is loaded).
  Room(std::string name, std::size_t shard_count, bool clustered);

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  const std::string& topic() const { return topic_; }
  void set_topic(std::string topic) { topic_ = std::move(topic); }
  // The newest sequence settled (order().settled()): stored and fanned out. Joins and History
  // stop here; messages still on their way to the store get their sequence there and reach
  // members live. In cluster mode the order also holds what came past a hole on the channel.
  MessageOrder& order() { return order_; }
  std::uint64_t settled_seq() const { return order_.settled(); }
  v1::RoomInfo info() const;

  // Members on this node.
  const Members& members() const { return members_; }
  bool has_member(std::uint64_t session_id) const { return members_.contains(session_id); }
  Member* find_member(std::uint64_t session_id);
  // False when who is a member already.
  bool add_member(SessionRef who, std::string nick);
  // The nick who had, when it was a member.
  std::optional<std::string> remove_member(SessionRef who);
  // How many members each shard has: a room message is posted once to each shard with any.
  const std::vector<std::uint32_t>& members_per_shard() const { return members_per_shard_; }
  // Members here and, in cluster mode, on the other nodes.
  std::size_t member_total() const;
  // The nicks of at most limit members (0: all), sorted by name. With a limit, the first members
  // found (not the first by name: an IRC JOIN asks for a few hundred names of a room that may
  // have ten thousand, and choosing them by name would cost the whole room on every join).
  std::vector<const std::string*> nicks(std::size_t limit) const;

  // The messages memory keeps, oldest first.
  const std::deque<v1::RoomMessage>& history() const;
  // A message settled: kept, and the oldest beyond keep forgotten.
  void remember(v1::RoomMessage&& message, std::size_t keep);
  // What a load from the store found: memory keeps these instead.
  void replace_history(std::vector<v1::RoomMessage> recent, std::size_t keep);
  // The kept message with this sequence, if any.
  v1::RoomMessage* kept(std::uint64_t seq);
  // An edit or deletion the store took, shown by memory too when it keeps the message.
  void edit_kept(std::uint64_t seq, const std::string& text);
  void delete_kept(std::uint64_t seq);
  // The kept message that sender_key sent with this client_msg_id, if any.
  const v1::RoomMessage* kept_send(const std::string& sender_key,
                                   std::uint64_t client_msg_id) const;
  void forget_older_than(std::int64_t cutoff_ms);
  void keep_newest(std::size_t count);

  // What a join or resume sends before live traffic, within budget bytes: on resume, what does
  // not fit is announced as a Gap (the client pages it in with History); join history just
  // starts later.
  std::vector<SharedFrame> catch_up_frames(const JoinArgs& join, std::size_t budget) const;
  // The answer to a History request from memory, within budget bytes, or nothing when part of
  // the range asked for is older than what memory keeps (the store answers).
  std::optional<v1::HistoryReply> history_from_memory(const v1::History& query, std::uint32_t limit,
                                                      std::size_t budget) const;

  // Sends on their way to the store, by sender and client_msg_id: a resend arriving meanwhile
  // waits for the first copy's answer instead of being stored twice. False when a copy is on its
  // way (sender waits for it).
  bool start_send(const std::string& sender_key, std::uint64_t client_msg_id,
                  const Requester& sender);
  // The copy on its way was answered (or not sent after all): who else waits for that answer.
  std::vector<Requester> finish_send(const std::string& sender_key, std::uint64_t client_msg_id);

  // Cluster mode's part of the room; null in embedded mode.
  ClusterRoom* cluster() { return cluster_.get(); }
  const ClusterRoom* cluster() const { return cluster_.get(); }
  // False while a cluster room is being loaded.
  bool live() const { return !cluster_ || cluster_->live; }
  // A join held while the room loads, from a session that left or ended meanwhile.
  void drop_held_join(std::uint64_t session_id);

 private:
  std::string name_;
  std::string topic_;
  MessageOrder order_;
  Members members_;
  std::vector<std::uint32_t> members_per_shard_;
  // Allocated with the first message, because an empty std::deque already holds about 600 bytes
  // and most rooms of a big server are quiet.
  std::unique_ptr<RecentHistory> recent_;
  std::unordered_map<std::string, std::vector<Requester>> in_flight_;
  std::unique_ptr<ClusterRoom> cluster_;
};

}  // namespace chat::server
