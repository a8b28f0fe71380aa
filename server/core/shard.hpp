#pragma once
// A worker thread with its own io_context. Sessions live on one shard for their whole life; rooms
// have a home shard. Shards talk only by posting to each other.

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <cassert>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client_session.hpp"
#include "config.hpp"
#include "home_rooms.hpp"
#include "local_rooms.hpp"
#include "server_context.hpp"

namespace chat::server {

class Connection;

class Shard {
 public:
  Shard(std::uint32_t index, ServerContext& context);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  std::uint32_t index() const { return index_; }
  asio::io_context& io() { return io_; }
  ServerContext& context() { return context_; }
  // The settings in force on this shard (reloaded on SIGHUP). Shard thread only.
  const ServerConfig& config() const { return config_; }
  void reload(const ServerConfig& config);

  void start();
  // True on this shard's thread, or before it started (start-up, and tests that run its loop).
  // Functions that must run on their shard assert it (debug builds).
  bool on_own_thread() const {
    return !thread_.joinable() || std::this_thread::get_id() == thread_.get_id();
  }
  // Stops the event loop and joins the thread; sessions still running are destroyed.
  void stop_and_join();

  template <class F>
  void post(F&& f) {
    asio::post(io_, std::forward<F>(f));
  }

  // Shard thread only.
  void add_session(ClientSession& session);
  void remove_session(ClientSession& session);
  ClientSession* find_session(std::uint64_t id) const;
  std::size_t session_count() const { return sessions_.size(); }
  LocalRooms& local_rooms() { return local_rooms_; }
  HomeRooms& home_rooms() { return home_rooms_; }

  // Write coalescing: a connection with new frames is flushed once, after the handlers already
  // queued on this shard have run, so a burst of fan-outs leaves in one write per client. Urgent
  // (an answer): flushed as soon as those handlers ran, not held back with the rest.
  void schedule_flush(Connection& connection, bool urgent = false);
  void forget_flush(Connection& connection);
  // Scratch space for a flush: frames are copied here and written with one send.
  std::string& write_scratch() { return write_scratch_; }
  // Every session on this shard reads into this one buffer (reads never suspend while using it).
  std::vector<char>& read_buffer() { return read_buffer_; }
  // Plaintext on its way into or out of a TLS channel (never held across a suspension).
  std::string& tls_scratch() { return tls_scratch_; }
  // Counters written by this shard's thread only, read by metrics from any thread.
  ShardStats& stats() { return stats_; }
  const ShardStats& stats() const { return stats_; }
  // What this shard holds now, for metrics. Shard thread only.
  ShardSnapshot snapshot() const;

  // Tells every session SERVER_SHUTDOWN; on_drained runs on this thread once none is left.
  // Connections still in their TLS handshake then become no session.
  void begin_shutdown(std::function<void()> on_drained);
  bool shutting_down() const { return shutting_down_; }
  // Drops every session that has not finished flushing.
  void abort_sessions();

 private:
  std::uint32_t index_;
  ServerContext& context_;
  ServerConfig config_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::unordered_map<std::uint64_t, ClientSession*> sessions_;
  LocalRooms local_rooms_;
  HomeRooms home_rooms_;
  std::function<void()> on_drained_;
  std::vector<Connection*> dirty_;
  std::vector<Connection*> urgent_;  // also in dirty_: flushed twice, the second time a no-op
  std::vector<Connection*> flushing_;
  bool flush_posted_ = false;
  bool urgent_flush_posted_ = false;
  bool shutting_down_ = false;
  asio::steady_timer flush_timer_;
  std::chrono::steady_clock::time_point last_flush_{};      // when the last flush began
  std::chrono::steady_clock::time_point last_flush_end_{};  // and ended
  std::string write_scratch_;
  std::vector<char> read_buffer_ = std::vector<char>(64 * 1024);
  std::string tls_scratch_;
  ShardStats stats_;

  void flush_dirty();
  void flush_urgent();
  // Flushes the connections listed (nullptr: forgotten), leaving the list empty.
  void flush_each(std::vector<Connection*>& connections);
};

// Runs fn(client) on the client's shard if the client session still exists there.
template <class F>
void with_client(ServerContext& context, SessionRef ref, F&& fn) {
  Shard& shard = *context.shards[ref.shard];
  shard.post([&shard, id = ref.id, fn = std::forward<F>(fn)]() mutable {
    if (ClientSession* client = shard.find_session(id)) fn(*client);
  });
}

// Runs fn(home_rooms) on the home shard of a room.
template <class F>
void post_to_home(ServerContext& context, const std::string& room_key, F&& fn) {
  Shard& home = *context.shards[context.home_shard_of(room_key)];
  home.post([&home, fn = std::forward<F>(fn)]() mutable { fn(home.home_rooms()); });
}

// A callback for an engine's answer, called at most once (handle is moved on that call), on
// whatever thread the engine answers from: handle(home_rooms, result) runs on the room's home
// shard.
template <class Result, class Handle>
std::function<void(Result)> answer_at_home(ServerContext& context, std::string room_key,
                                           Handle handle) {
  return [&context, room_key = std::move(room_key),
          handle = std::move(handle)](Result result) mutable {
    post_to_home(context, room_key,
                 [handle = std::move(handle), result = std::move(result)](
                     HomeRooms& rooms) mutable { handle(rooms, std::move(result)); });
  };
}

// Queues a frame to a session on any shard.
void send_to_session(ServerContext& context, SessionRef ref, SharedFrame frame);

}  // namespace chat::server
