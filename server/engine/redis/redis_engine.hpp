#pragma once
// The cluster engine (DESIGN.md, "the engine"): history, accounts and read markers in Redis
// behind RoomLog, a bus that carries every room's messages to each node with members there
// (RoomBus), presence across nodes (ClusterPresence) and nicks unique in the cluster
// (NickRegistry).
//
// One server-side script sequences a message: it increments the room's counter, appends the
// message to the room's stream under that sequence, remembers its client_msg_id and publishes it
// on the room's channel, atomically, so every node sees one order per room. Nodes fan out what
// arrives on the channel, their own messages included.
//
// Redis is one server or a Redis Cluster (redis_router.hpp): every key carries what it belongs to
// as its hash tag (engine_keys.hpp), so a room's script runs on the master of the room's slot and
// its messages go out on that master's shard channel. Redis I/O runs on one thread of its own
// (per master: a command connection, a subscriber connection and a heartbeat connection).
// Callbacks run there; callers post back to their shard, as with the embedded store.

#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cluster_presence.hpp"
#include "host_port.hpp"
#include "nick_registry.hpp"
#include "room_bus.hpp"
#include "room_log.hpp"

namespace asio {
class io_context;
}

namespace chat::server::redis {

class Connection;
class Router;
struct Reply;
namespace scripts {
struct Script;
}

class RedisEngine final : public RoomLog,
                          public RoomBus,
                          public ClusterPresence,
                          public NickRegistry {
 public:
  struct Options {
    std::vector<HostPort> seeds;           // one Redis, or any nodes of a cluster
    std::uint32_t retention_messages = 0;  // per room; 0: keep all
    std::uint32_t retention_seconds = 0;   // 0: keep forever
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds node_expiry{5000};  // a node silent this long is dead
    // A message is acknowledged once a replica has it too (WAIT), not only its master.
    bool acknowledge_on_replica = false;
    std::chrono::milliseconds replica_timeout{1000};
  };

  // Starts connecting in the background; a node whose Redis is down starts anyway (not ready).
  explicit RedisEngine(Options options);
  ~RedisEngine() override;

  // RoomLog: append answers with the sequence Redis gave the message, at least message.seq (one
  // above the highest this node has seen in the room) even when Redis lost the room's counter.
  void append(v1::RoomMessage message, std::string room_key, std::string sender_key,
              std::function<void(storage::AppendResult)> done) override;
  void set_topic(std::string room_key, std::string room_name, std::string topic,
                 std::function<void(storage::WriteResult)> done) override;
  void edit(std::string room_key, std::uint64_t seq, std::string sender_key, std::string new_text,
            std::int64_t now_ms, std::function<void(storage::EditResult)> done) override;
  void remove(std::string room_key, std::uint64_t seq, std::string sender_key,
              std::function<void(storage::EditResult)> done) override;
  void mark_read(std::string account_key, std::string room_key, std::uint64_t seq,
                 std::function<void(storage::WriteResult)> done) override;
  void create_account(std::string nick_key, std::string nick, std::string password_hash,
                      std::function<void(storage::CreateAccountResult)> done) override;
  void history(std::string room_key, storage::HistoryQuery query,
               std::function<void(storage::HistoryResult)> done) override;
  void read_markers(std::string account_key,
                    std::function<void(storage::ReadMarkersResult)> done) override;
  void find_account(std::string nick_key,
                    std::function<void(storage::FindAccountResult)> done) override;
  void check_writable(std::function<void(storage::WriteResult)> done) override;
  storage::StoreStats stats() const override;
  bool delivered_is_acknowledged() const override { return !options_.acknowledge_on_replica; }
  // Rooms are loaded when first joined on a node (load_room), not at start-up.
  std::vector<storage::RoomRecord> load_rooms() override { return {}; }
  std::vector<v1::RoomMessage> load_recent(const std::string&, std::uint32_t) override {
    return {};
  }

  // RoomBus
  void listen(ClusterListener& listener) override;
  bool connected() const override { return connected_.load(std::memory_order_relaxed); }
  bool wait_connected(std::chrono::milliseconds timeout) override;
  void subscribe(const std::string& room_key, std::function<void()> subscribed) override;
  void unsubscribe(const std::string& room_key) override;
  void load_room(const std::string& room_key, std::uint32_t recent,
                 std::function<void(LoadedRoom)> done) override;
  void raise_seq(const std::string& room_key, std::uint64_t seq) override;
  void set_topic_for_all(const std::string& room_key, const std::string& room_name,
                         const v1::ServerFrame& event,
                         std::function<void(storage::WriteResult)> done) override;
  void relay(const std::string& room_key, const v1::ServerFrame& event) override;
  void list_rooms(const std::string& prefix_key, std::uint32_t count,
                  std::function<void(ListedRooms)> done) override;

  // ClusterPresence: this node's id is random per process.
  const std::string& node_id() const override { return node_id_; }
  void announce(const std::string& room_key, const std::string& room_name, std::uint64_t session_id,
                const Presence& news, bool last_here = false) override;
  void room_members(const std::string& room_key,
                    std::function<void(std::optional<RoomMembers>)> done) override;
  void sync_members(const std::string& room_key, const std::string& room_name,
                    std::vector<std::pair<std::uint64_t, std::string>> members) override;
  void watch_node(const std::string& node) override;

  // NickRegistry
  void claim_nick(const std::string& nick_key, std::uint64_t session_id,
                  std::function<void(storage::WriteResult)> done) override;
  void release_nick(const std::string& nick_key, std::uint64_t session_id) override;

 private:
  void run(std::function<void()> work);  // on the engine's thread
  // A command to the master of routing_key's slot.
  void command(std::string routing_key, std::vector<std::string> args,
               std::function<void(Reply)> done);
  // Runs a script by its SHA-1 (loaded on every connection as it comes up) on the master of its
  // first key's slot: args are the key count, the keys, then the arguments. eval_on runs on the
  // engine's thread.
  void eval(const scripts::Script& script, std::vector<std::string> args,
            std::function<void(Reply)> done);
  void send_script(Router& router, std::string_view routing_key, std::string call,
                   std::function<void(Reply)> done, bool replicated);
  void eval_on(Router& router, const scripts::Script& script, std::vector<std::string> args,
               std::function<void(Reply)> done, bool replicated = false);
  void on_published(const std::string& channel, const std::string& payload);
  void store_topic(const std::string& room_key, const std::string& room_name,
                   const std::string& topic, std::string payload,
                   std::function<void(storage::WriteResult)> done);
  void edit_attempt(std::string room_key, std::uint64_t seq, std::string sender_key,
                    std::string new_text, bool removing,
                    std::function<void(storage::EditResult)> done, int attempt);
  // Nick claims, on the engine's thread. This node's claims and the releases Redis missed are
  // kept to be sent again by rejoin().
  // done: claimed or not, or nullopt and why when Redis did not answer.
  void send_claim(const std::string& nick_key, std::uint64_t session_id,
                  std::function<void(std::optional<bool>, std::string)> done);
  void send_release(const std::string& nick_key, std::uint64_t session_id);
  void reclaim_nicks();
  void send_sync(const std::string& room_key, const std::string& room_name,
                 const std::vector<std::pair<std::uint64_t, std::string>>& members);
  // Rooms with presence changes Redis missed that this node no longer follows: its members
  // there leave (the followed ones are synced by their home shards).
  void sync_unfollowed_rooms();
  // Redis may have lost this node's records: nicks are claimed again, then the listener rejoins.
  void rejoin();
  void on_presence(const std::string& room_key, std::string_view payload);
  void heartbeat();
  void beat();
  void enter_node_set(bool rejoined);
  void check_nodes();
  // Removes the members of nodes whose heartbeat expired from Redis, whoever followed their rooms.
  void reap_nodes();
  void reap_node(const std::string& node);
  void claim_from_dead_owner(const std::string& nick_key, const std::string& owner,
                             const std::string& wanted,
                             std::function<void(std::optional<bool>, std::string)> done);
  void list_more(std::shared_ptr<struct RoomListing> listing);
  // Retention by age over every room, by one node at a time: a pass every tenth of
  // retention_seconds (at least 1 s apart, at most 60 s), a batch of rooms per script call.
  void start_sweep();
  void sweep(std::string cursor);
  void trim_rooms(std::vector<std::string> room_keys, std::string next_cursor);
  std::string retention_max_len() const;
  std::string retention_min_time() const;

  Options options_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<Router> commands_;  // and the subscriptions
  // Heartbeats on connections of their own: behind a deep pipeline of appends they could be late
  // enough for the other nodes to think this one dead.
  std::unique_ptr<Router> heartbeats_;
  ClusterListener* listener_ = nullptr;  // engine thread
  std::string node_id_;
  bool has_beaten_ = false;     // engine thread
  bool in_node_set_ = false;    // engine thread: a beat found it in chat:nodes (or added it)
  bool was_connected_ = false;  // engine thread: the command connection was up before
  std::chrono::steady_clock::time_point next_sweep_{};     // engine thread
  std::set<std::string> watched_nodes_;                    // engine thread
  std::unordered_map<std::string, std::uint64_t> claims_;  // engine thread: nick key -> session
  std::set<std::pair<std::string, std::uint64_t>> unreleased_;  // engine thread
  // Rooms whose presence change Redis did not get; synced again on rejoin. Engine thread.
  std::set<std::string> unsynced_rooms_;
  std::chrono::steady_clock::time_point last_rejoin_{};  // engine thread
  std::unique_ptr<asio::steady_timer> heartbeat_timer_;
  bool sweeping_ = false;          // engine thread
  std::set<std::string> reaping_;  // engine thread: nodes being removed
  std::unordered_map<std::string, std::vector<std::function<void()>>> subscribing_;  // by channel
  std::atomic<bool> connected_{false};
  std::mutex connected_mutex_;
  std::condition_variable connected_changed_;
  std::atomic<std::uint64_t> appended_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::thread thread_;
};

}  // namespace chat::server::redis
