// The public calls: each builds a request, waits for its reply, and returns a Result.
#include "client.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <random>

#include "client_internals.hpp"
#include "names.hpp"

namespace chat::client {

using clock = std::chrono::steady_clock;

Client::Client(asio::any_io_executor executor, ClientOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      nick_(options_.nick),
      socket_(executor_),
      decoder_(options_.max_frame_bytes),
      backoff_(options_.backoff),
      events_ready_(executor_),
      writer_wake_(executor_),
      sender_wake_(executor_),
      reconnected_(executor_),
      sleep_timer_(executor_),
      pace_timer_(executor_) {
  // Unique across runs of the same nick, so the server's de-duplication never confuses them.
  std::random_device random;
  next_client_msg_id_ = ((std::uint64_t{random()} << 20) ^ std::uint64_t{random()}) | 1;
}

Client::~Client() = default;

asio::awaitable<void> Client::wait(Waiter& waiter) {
  while (!waiter.done()) {
    co_await waiter.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (!waiter.done() && waiter.timer.expiry() <= clock::now()) {
      waiter.failure = unavailable("no reply within " +
                                   std::to_string(options_.request_timeout.count()) + " ms");
    }
  }
}

void Client::complete(std::uint64_t request_id, const v1::ServerFrame& frame) {
  auto it = waiters_.find(request_id);
  if (it == waiters_.end()) return;  // timed out already
  it->second->reply = frame;
  it->second->timer.cancel();
  waiters_.erase(it);
}

asio::awaitable<Result<v1::ServerFrame>> Client::request(v1::ClientFrame frame) {
  if (!connected_) co_return unavailable(closed_ ? "the client is closed" : "not connected");
  const std::uint64_t id = next_request_id_++;
  frame.set_request_id(id);
  Waiter waiter(executor_);
  waiter.timer.expires_after(options_.request_timeout);
  waiters_.emplace(id, &waiter);
  write(frame);
  co_await wait(waiter);
  waiters_.erase(id);
  if (waiter.failure) co_return *waiter.failure;
  if (waiter.reply->has_error()) co_return failure_of(waiter.reply->error());
  co_return std::move(*waiter.reply);
}

asio::awaitable<Result<Done>> Client::request_ok(v1::ClientFrame frame) {
  auto reply = co_await request(std::move(frame));
  if (!reply) co_return reply.failure();
  co_return Done{};
}

asio::awaitable<Result<v1::JoinReply>> Client::join(std::string room, int history) {
  v1::ClientFrame frame;
  frame.mutable_join()->set_room(room);
  frame.mutable_join()->set_history(history);
  auto reply = co_await request(std::move(frame));
  if (!reply) co_return reply.failure();
  const v1::JoinReply& joined = reply.value().join_reply();
  auto [it, fresh] = rooms_.try_emplace(name_key(joined.room()),
                                        JoinedRoom{joined.room(), RoomTracker(joined.last_seq())});
  if (fresh) it->second.order = next_room_order_++;
  co_return joined;
}

asio::awaitable<Result<Done>> Client::leave(std::string room) {
  v1::ClientFrame frame;
  frame.mutable_leave()->set_room(room);
  auto done = co_await request_ok(std::move(frame));
  if (done) rooms_.erase(name_key(room));
  co_return done;
}

asio::awaitable<Result<v1::Ack>> Client::send(std::string room, std::string text, bool action) {
  JoinedRoom* joined = find_room(room);
  if (!joined) co_return Failure{v1::Error::NOT_IN_ROOM, "not in " + room, 0};
  if (closed_) co_return unavailable("the client is closed");
  if (auto refused = check_message(text)) co_return *refused;
  const std::uint64_t id = next_client_msg_id_++;
  PendingSend pending(executor_);
  pending.room = joined->name;
  pending.text = std::move(text);
  pending.action = action;
  pending.waiter.timer.expires_at(clock::time_point::max());  // the sender sets the deadline
  sends_.emplace(id, &pending);
  unsent_.insert(id);
  sender_wake_.notify();
  co_await wait(pending.waiter);
  sends_.erase(id);
  unsent_.erase(id);
  if (pending.waiter.failure) co_return *pending.waiter.failure;
  if (pending.waiter.reply->has_error()) co_return failure_of(pending.waiter.reply->error());
  co_return pending.waiter.reply->ack();
}

asio::awaitable<Result<std::uint64_t>> Client::send_direct(std::string nick, std::string text) {
  if (auto refused = check_message(text)) co_return *refused;
  const std::uint64_t id = next_client_msg_id_++;
  v1::ClientFrame frame;
  frame.mutable_send_direct()->set_to(std::move(nick));
  frame.mutable_send_direct()->set_text(std::move(text));
  frame.mutable_send_direct()->set_client_msg_id(id);
  auto done = co_await request_ok(std::move(frame));
  if (!done) co_return done.failure();
  co_return id;
}

asio::awaitable<Result<v1::HistoryReply>> Client::history(v1::History query) {
  v1::ClientFrame frame;
  *frame.mutable_history() = std::move(query);
  auto reply = co_await request(std::move(frame));
  if (!reply) co_return reply.failure();
  co_return std::move(*reply.value().mutable_history_reply());
}

asio::awaitable<Result<v1::MemberList>> Client::who(std::string room) {
  v1::ClientFrame frame;
  frame.mutable_who()->set_room(std::move(room));
  auto reply = co_await request(std::move(frame));
  if (!reply) co_return reply.failure();
  co_return std::move(*reply.value().mutable_member_list());
}

asio::awaitable<Result<v1::RoomList>> Client::rooms(std::string prefix, std::uint32_t limit) {
  v1::ClientFrame frame;
  frame.mutable_list_rooms()->set_prefix(std::move(prefix));
  frame.mutable_list_rooms()->set_limit(limit);
  auto reply = co_await request(std::move(frame));
  if (!reply) co_return reply.failure();
  co_return std::move(*reply.value().mutable_room_list());
}

asio::awaitable<Result<Done>> Client::set_topic(std::string room, std::string topic) {
  v1::ClientFrame frame;
  frame.mutable_set_topic()->set_room(std::move(room));
  frame.mutable_set_topic()->set_topic(std::move(topic));
  co_return co_await request_ok(std::move(frame));
}

asio::awaitable<Result<Done>> Client::set_nick(std::string nick) {
  v1::ClientFrame frame;
  frame.mutable_set_nick()->set_nick(nick);
  auto done = co_await request_ok(std::move(frame));
  if (done) nick_ = std::move(nick);  // a reconnect says Hello with the new nick
  co_return done;
}

asio::awaitable<Result<Done>> Client::edit(std::string room, std::uint64_t seq, std::string text) {
  v1::ClientFrame frame;
  frame.mutable_edit()->set_room(std::move(room));
  frame.mutable_edit()->set_seq(seq);
  frame.mutable_edit()->set_text(std::move(text));
  co_return co_await request_ok(std::move(frame));
}

asio::awaitable<Result<Done>> Client::remove(std::string room, std::uint64_t seq) {
  v1::ClientFrame frame;
  frame.mutable_delete_()->set_room(std::move(room));
  frame.mutable_delete_()->set_seq(seq);
  co_return co_await request_ok(std::move(frame));
}

asio::awaitable<Result<Done>> Client::mark_read(std::string room, std::uint64_t seq) {
  v1::ClientFrame frame;
  frame.mutable_mark_read()->set_room(std::move(room));
  frame.mutable_mark_read()->set_seq(seq);
  co_return co_await request_ok(std::move(frame));
}

asio::awaitable<Result<Done>> Client::register_nick(std::string password) {
  v1::ClientFrame frame;
  frame.mutable_register_()->set_password(password);
  auto done = co_await request_ok(std::move(frame));
  if (done) options_.password = std::move(password);  // needed in every later Hello
  co_return done;
}

void Client::typing(const std::string& room) {
  if (!connected_) return;
  v1::ClientFrame frame;
  frame.mutable_typing()->set_room(room);
  write(frame);
}

void Client::read_receipt(const std::string& to, std::uint64_t client_msg_id) {
  if (!connected_) return;
  v1::ClientFrame frame;
  frame.mutable_direct_receipt()->set_to(to);
  frame.mutable_direct_receipt()->set_client_msg_id(client_msg_id);
  write(frame);
}

asio::awaitable<ClientEvent> Client::next_event() {
  while (events_.empty() && !closed_) co_await events_ready_.wait();
  if (events_.empty()) co_return ConnectionEvent{ConnectionState::closed, "closed", {}, 0};
  ClientEvent event = std::move(events_.front());
  events_.pop_front();
  co_return event;
}

void Client::emit(ClientEvent event) {
  events_.push_back(std::move(event));
  events_ready_.notify();
}

std::vector<std::string> Client::joined_rooms() const {
  std::vector<const JoinedRoom*> ordered;
  for (const auto& [key, room] : rooms_) ordered.push_back(&room);
  std::sort(ordered.begin(), ordered.end(),
            [](const JoinedRoom* a, const JoinedRoom* b) { return a->order < b->order; });
  std::vector<std::string> names;
  for (const JoinedRoom* room : ordered) names.push_back(room->name);
  return names;
}

// Refused here rather than by the server: a message above its frame limit would cost the
// connection, and sent again after every reconnect it would cost every connection.
std::optional<Failure> Client::check_message(const std::string& text) const {
  const std::uint32_t limit = welcome_.limits().max_text_bytes();
  const auto problem = check_text(text, limit ? limit : options_.max_frame_bytes);
  if (problem == NameProblem::ok) return std::nullopt;
  return Failure{
      problem == NameProblem::too_long ? v1::Error::TEXT_TOO_LONG : v1::Error::INVALID_TEXT,
      "text " + std::string(describe(problem)), 0};
}

Client::JoinedRoom* Client::find_room(const std::string& name) {
  auto it = rooms_.find(name_key(name));
  return it == rooms_.end() ? nullptr : &it->second;
}

}  // namespace chat::client
