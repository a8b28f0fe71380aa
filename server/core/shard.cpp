#include "shard.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "connection.hpp"

namespace chat::server {

Shard::Shard(std::uint32_t index, ServerContext& context)
    : index_(index),
      context_(context),
      config_(context.config),
      io_(1),
      home_rooms_(*this, context),
      flush_timer_(io_) {}

Shard::~Shard() { stop_and_join(); }

void Shard::reload(const ServerConfig& config) { config_ = config; }

void Shard::start() {
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      spdlog::critical("shard {}: event loop failed: {}", index_, e.what());
      std::terminate();
    }
  });
}

void Shard::stop_and_join() {
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void Shard::add_session(ClientSession& session) {
  assert(on_own_thread());
  sessions_.emplace(session.ref().id, &session);
}

void Shard::remove_session(ClientSession& session) {
  assert(on_own_thread());
  sessions_.erase(session.ref().id);
  if (sessions_.empty() && on_drained_) std::exchange(on_drained_, nullptr)();
}

ShardSnapshot Shard::snapshot() const {
  ShardSnapshot snapshot;
  snapshot.sessions = sessions_.size();
  for (const auto& [id, session] : sessions_) {
    snapshot.outbox_bytes += session->outbox_bytes();
    if (session->uses_tls()) ++snapshot.tls_sessions;
    const std::string_view transport = session->transport();
    if (transport == "ws") ++snapshot.websocket_sessions;
    if (transport == "ws-json") ++snapshot.websocket_json_sessions;
  }
  snapshot.rooms = home_rooms_.room_count();
  snapshot.members = home_rooms_.member_count();
  return snapshot;
}

ClientSession* Shard::find_session(std::uint64_t id) const {
  assert(on_own_thread());
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void Shard::schedule_flush(Connection& connection, bool urgent) {
  assert(on_own_thread());
  if (urgent) {
    urgent_.push_back(&connection);
    if (!urgent_flush_posted_) {
      urgent_flush_posted_ = true;
      post([this] { flush_urgent(); });
    }
  }
  dirty_.push_back(&connection);
  if (flush_posted_) return;
  flush_posted_ = true;
  // An idle shard flushes at once; a busy one at most every flush_interval_us, and no sooner after
  // the last flush ended than that flush took (up to twice the interval): so under load each send
  // carries several messages (one send per client costs one to two microseconds on loopback), and a
  // room too large to flush within the interval is not flushed one message at a time, back to
  // back. (Uncapped, the wait grew with the batches it made: 1.8 s p99 into 10,000 members.)
  const auto interval = std::chrono::microseconds(config_.flush_interval_us);
  const auto due =
      interval.count() == 0
          ? last_flush_
          : std::max(last_flush_ + interval,
                     last_flush_end_ + std::min<std::chrono::steady_clock::duration>(
                                           last_flush_end_ - last_flush_, 2 * interval));
  if (std::chrono::steady_clock::now() >= due) {
    post([this] { flush_dirty(); });
  } else {
    flush_timer_.expires_at(due);
    flush_timer_.async_wait([this](const asio::error_code&) { flush_dirty(); });
  }
}

void Shard::forget_flush(Connection& connection) {
  for (auto* list : {&dirty_, &urgent_, &flushing_})
    std::replace(list->begin(), list->end(), &connection, static_cast<Connection*>(nullptr));
}

void Shard::flush_urgent() {
  urgent_flush_posted_ = false;
  flush_each(urgent_);
}

void Shard::flush_each(std::vector<Connection*>& connections) {
  flushing_.swap(connections);
  for (Connection* connection : flushing_) {
    if (connection) connection->flush();
  }
  flushing_.clear();
}

void Shard::flush_dirty() {
  flush_posted_ = false;
  last_flush_ = std::chrono::steady_clock::now();
  flush_each(dirty_);
  last_flush_end_ = std::chrono::steady_clock::now();
}

void Shard::begin_shutdown(std::function<void()> on_drained) {
  shutting_down_ = true;
  if (sessions_.empty()) {
    on_drained();
    return;
  }
  on_drained_ = std::move(on_drained);
  std::vector<ClientSession*> sessions;
  for (auto& [id, session] : sessions_) sessions.push_back(session);
  for (ClientSession* session : sessions)
    session->close_with(v1::Disconnect::SERVER_SHUTDOWN, "server shutting down");
}

void Shard::abort_sessions() {
  for (auto& [id, session] : sessions_) session->abort();
}

void send_to_session(ServerContext& context, SessionRef ref, SharedFrame frame) {
  with_client(context, ref,
              [frame = std::move(frame)](ClientSession& client) { client.deliver(frame); });
}

}  // namespace chat::server
