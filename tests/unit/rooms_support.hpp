#pragma once
// Rooms without sockets: real shards that are never started (the test runs their handlers), fake
// client sessions that record what they are sent, a fake room log whose appends the test answers
// when and how it wants, and for cluster mode a fake bus and presence whose loads and channel the
// test plays.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "client_session.hpp"
#include "cluster_presence.hpp"
#include "cluster_rooms.hpp"
#include "decode_frame.hpp"
#include "names.hpp"
#include "room_bus.hpp"
#include "room_log.hpp"
#include "server_context.hpp"
#include "shard.hpp"
#include "storage_engine.hpp"

namespace chat::test {

// A client of any front end, as rooms see it: it records every frame it is sent.
class FakeClient final : public server::ClientSession {
 public:
  FakeClient(server::Shard& shard, std::uint64_t id, std::string nick)
      : shard_(shard), ref_{shard.index(), id}, nick_(std::move(nick)) {
    shard_.add_session(*this);
  }
  ~FakeClient() override { shard_.remove_session(*this); }

  server::SessionRef ref() const override { return ref_; }
  const std::string& nick() const override { return nick_; }
  void deliver(const SharedFrame& frame) override { frames.push_back(decode(*frame)); }
  void on_joined(const std::string& key, const std::string&,
                 std::vector<SharedFrame> joined_frames) override {
    shard_.local_rooms().add(key, this);
    for (const SharedFrame& frame : joined_frames) deliver(frame);
  }
  void on_join_failed(const std::string&, SharedFrame error) override { deliver(error); }
  void close_with(v1::Disconnect::Reason, const std::string&, std::uint32_t) override {}
  void abort() override {}
  std::size_t outbox_bytes() const override { return 0; }
  bool uses_tls() const override { return false; }
  std::string_view transport() const override { return "tcp"; }

  // The frames received so far that match, taken out of frames.
  std::vector<v1::ServerFrame> take(const std::function<bool(const v1::ServerFrame&)>& match) {
    std::vector<v1::ServerFrame> taken;
    std::erase_if(frames, [&](const v1::ServerFrame& frame) {
      if (!match(frame)) return false;
      taken.push_back(frame);
      return true;
    });
    return taken;
  }

  std::vector<v1::ServerFrame> frames;

 private:
  server::Shard& shard_;
  server::SessionRef ref_;
  std::string nick_;
};

// A room log that queues appends until the test answers them, giving sequences as a store does.
class FakeLog final : public server::RoomLog {
 public:
  struct Append {
    v1::RoomMessage message;
    std::string room_key;
    std::string sender_key;
    std::function<void(server::storage::AppendResult)> done;
  };

  void append(v1::RoomMessage message, std::string room_key, std::string sender_key,
              std::function<void(server::storage::AppendResult)> done) override {
    appends.push_back(
        {std::move(message), std::move(room_key), std::move(sender_key), std::move(done)});
  }
  // Answers the oldest append: stored with the room's next sequence, or a duplicate of what the
  // same sender's client_msg_id stored before.
  void store_next() {
    Append next = std::move(appends.front());
    appends.pop_front();
    const auto id = std::tuple(next.room_key, next.sender_key, next.message.client_msg_id());
    if (next.message.client_msg_id() != 0) {
      if (auto it = stored_ids_.find(id); it != stored_ids_.end()) {
        next.done({.ok = true, .duplicate = true, .seq = it->second, .error = {}});
        return;
      }
    }
    std::uint64_t& last = last_seq_[next.room_key];
    last = std::max(last + 1, next.message.seq());
    if (next.message.client_msg_id() != 0) stored_ids_[id] = last;
    next.done({.ok = true, .duplicate = false, .seq = last, .error = {}});
  }
  void fail_next(const std::string& error) {
    Append next = std::move(appends.front());
    appends.pop_front();
    next.done({.ok = false, .duplicate = false, .seq = 0, .error = error});
  }

  void set_topic(std::string, std::string, std::string,
                 std::function<void(server::storage::WriteResult)> done) override {
    done({.ok = true, .error = {}});
  }
  void edit(std::string, std::uint64_t, std::string, std::string, std::int64_t,
            std::function<void(server::storage::EditResult)> done) override {
    done({});
  }
  void remove(std::string, std::uint64_t, std::string,
              std::function<void(server::storage::EditResult)> done) override {
    done({});
  }
  void mark_read(std::string, std::string, std::uint64_t,
                 std::function<void(server::storage::WriteResult)> done) override {
    done({.ok = true, .error = {}});
  }
  void create_account(std::string, std::string, std::string,
                      std::function<void(server::storage::CreateAccountResult)> done) override {
    done({});
  }
  // Reads after a sequence from stream (what the cluster's log holds); anything else fails.
  void history(std::string, server::storage::HistoryQuery query,
               std::function<void(server::storage::HistoryResult)> done) override {
    server::storage::HistoryResult result;
    result.ok = query.kind == server::storage::HistoryQuery::Kind::after;
    for (const v1::RoomMessage& message : stream) {
      if (result.ok && message.seq() > query.seq) result.messages.push_back(message);
    }
    ++history_reads;
    done(std::move(result));
  }
  void read_markers(std::string,
                    std::function<void(server::storage::ReadMarkersResult)> done) override {
    done({});
  }
  void find_account(std::string,
                    std::function<void(server::storage::FindAccountResult)> done) override {
    done({});
  }
  void check_writable(std::function<void(server::storage::WriteResult)> done) override {
    done({.ok = true, .error = {}});
  }
  server::storage::StoreStats stats() const override { return {}; }
  std::vector<server::storage::RoomRecord> load_rooms() override { return {}; }
  std::vector<v1::RoomMessage> load_recent(const std::string&, std::uint32_t) override {
    return {};
  }

  std::deque<Append> appends;
  std::vector<v1::RoomMessage> stream;
  int history_reads = 0;

 private:
  std::map<std::string, std::uint64_t> last_seq_;
  std::map<std::tuple<std::string, std::string, std::uint64_t>, std::uint64_t> stored_ids_;
};

// The cluster's bus as a node sees it: subscriptions are confirmed at once, loads wait for the
// test's answer, topics and relayed events are recorded.
class FakeBus final : public server::RoomBus {
 public:
  void listen(server::ClusterListener&) override {}
  bool connected() const override { return up; }
  bool wait_connected(std::chrono::milliseconds) override { return up; }
  void subscribe(const std::string& key, std::function<void()> subscribed) override {
    subscriptions.insert(key);
    subscribed();
  }
  void unsubscribe(const std::string& key) override { subscriptions.erase(key); }
  void load_room(const std::string& key, std::uint32_t,
                 std::function<void(server::LoadedRoom)> done) override {
    loads.emplace_back(key, std::move(done));
  }
  void raise_seq(const std::string&, std::uint64_t) override {}
  void set_topic_for_all(const std::string&, const std::string&, const v1::ServerFrame& event,
                         std::function<void(server::storage::WriteResult)> done) override {
    relayed.push_back(event);
    done({.ok = true, .error = {}});
  }
  void relay(const std::string&, const v1::ServerFrame& event) override {
    relayed.push_back(event);
  }
  void list_rooms(const std::string&, std::uint32_t,
                  std::function<void(server::ListedRooms)> done) override {
    done({});
  }

  bool up = true;
  std::set<std::string> subscriptions;
  std::deque<std::pair<std::string, std::function<void(server::LoadedRoom)>>> loads;
  std::vector<v1::ServerFrame> relayed;
};

// Who is where in the cluster, as this node ("n1") records it.
class FakePresence final : public server::ClusterPresence {
 public:
  const std::string& node_id() const override { return node_; }
  void announce(const std::string&, const std::string&, std::uint64_t session_id,
                const server::Presence& news, bool last_here) override {
    announced.emplace_back(session_id, news.change);
    if (last_here) last_here_from.push_back(session_id);
  }
  void room_members(const std::string&,
                    std::function<void(std::optional<server::RoomMembers>)> done) override {
    done(record);
  }
  void sync_members(const std::string&, const std::string&,
                    std::vector<std::pair<std::uint64_t, std::string>>) override {}
  void watch_node(const std::string& node) override { watched.insert(node); }

  std::vector<std::pair<std::uint64_t, server::Presence::Change>> announced;
  std::vector<std::uint64_t> last_here_from;  // sessions whose leave emptied a room here
  std::optional<server::RoomMembers> record;
  std::set<std::string> watched;

 private:
  std::string node_ = "n1";
};

// A server's rooms on `shards` shards that never start: run() runs every handler that the shards
// have queued (posts between shards included) until none is left. Embedded, or one node of a
// cluster with `Cluster::yes`.
class RoomsUnderTest {
 public:
  enum class Cluster { no, yes };
  explicit RoomsUnderTest(std::uint32_t shards = 2,
                          const std::function<void(server::ServerConfig&)>& configure = {},
                          Cluster cluster = Cluster::no) {
    if (configure) configure(context_.config);
    context_.room_log = &log;
    if (cluster == Cluster::yes) {
      context_.bus = &bus;
      context_.cluster_presence = &presence;
    }
    for (std::uint32_t i = 0; i < shards; ++i)
      context_.shards.push_back(std::make_unique<server::Shard>(i, context_));
  }
  ~RoomsUnderTest() {
    clients_.clear();
    run();
  }

  FakeClient& connect(std::uint32_t shard, const std::string& nick) {
    clients_.push_back(std::make_unique<FakeClient>(*context_.shards[shard], next_id_++, nick));
    return *clients_.back();
  }

  void run() {
    for (bool ran = true; ran;) {
      ran = false;
      for (auto& shard : context_.shards) {
        shard->io().restart();
        ran |= shard->io().poll() > 0;
      }
    }
  }

  void join(FakeClient& client, const std::string& room, std::uint32_t history = 0,
            std::optional<std::uint64_t> resume_after = std::nullopt,
            std::uint64_t request_id = 1) {
    server::JoinArgs args{.room = room,
                          .key = name_key(room),
                          .who = client.ref(),
                          .nick = client.nick(),
                          .account = false,
                          .real_name = {},
                          .request_id = request_id,
                          .history = history,
                          .resume_after = resume_after};
    on_home(room, [args = std::move(args)](server::HomeRooms& rooms) mutable {
      rooms.join(std::move(args));
    });
  }
  void leave(FakeClient& client, const std::string& room) {
    client_shard(client).local_rooms().remove(name_key(room), &client);
    on_home(room, [key = name_key(room), who = client.ref()](server::HomeRooms& rooms) {
      rooms.leave(key, who, "bye", false);
    });
  }
  void say(FakeClient& client, const std::string& room, const std::string& text,
           std::uint64_t client_msg_id = 0, std::uint64_t request_id = 2) {
    server::PublishArgs args{.key = name_key(room),
                             .who = client.ref(),
                             .nick = client.nick(),
                             .text = text,
                             .client_msg_id = client_msg_id,
                             .action = false,
                             .request_id = request_id,
                             .received_at = std::chrono::steady_clock::now()};
    on_home(room, [args = std::move(args)](server::HomeRooms& rooms) mutable {
      rooms.publish(std::move(args));
    });
  }
  // Answers the oldest append with the next sequence, and runs what follows.
  void store_next() {
    log.store_next();
    run();
  }
  // Cluster mode: answers the oldest load of a room, and runs what follows.
  void load_next(server::LoadedRoom loaded) {
    auto [key, done] = std::move(bus.loads.front());
    bus.loads.pop_front();
    done(std::move(loaded));
    run();
  }
  // Cluster mode: a message on the room's channel, as the engine passes it on.
  void on_channel(const std::string& room, v1::RoomMessage message) {
    on_home(room,
            [key = name_key(room), message = std::move(message)](server::HomeRooms& rooms) mutable {
              rooms.cluster()->on_bus_message(key, std::move(message));
            });
  }
  void on_presence(const std::string& room, server::Presence change) {
    on_home(room,
            [key = name_key(room), change = std::move(change)](server::HomeRooms& rooms) mutable {
              rooms.cluster()->on_presence(key, std::move(change));
            });
  }
  // The rooms the home shard of room keeps.
  std::size_t rooms_kept(const std::string& room) {
    return context_.shards[context_.home_shard_of(name_key(room))]->home_rooms().room_count();
  }
  void who(FakeClient& client, const std::string& room) {
    on_home(room, [key = name_key(room), who = client.ref()](server::HomeRooms& rooms) {
      rooms.who(key, who, 3);
    });
  }

  FakeLog log;
  FakeBus bus;
  FakePresence presence;

 private:
  void on_home(const std::string& room, std::function<void(server::HomeRooms&)> work) {
    server::post_to_home(context_, name_key(room), std::move(work));
    run();
  }
  server::Shard& client_shard(const FakeClient& client) {
    return *context_.shards[client.ref().shard];
  }

  server::ServerContext context_;
  std::vector<std::unique_ptr<FakeClient>> clients_;
  std::uint64_t next_id_ = 1;
};

}  // namespace chat::test
