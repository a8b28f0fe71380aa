#include "chat_app.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "logging.hpp"
#include "names.hpp"

namespace chat::client::app {
namespace {

void log_failure(std::exception_ptr error) {
  if (error) spdlog::error("chat-client: {}", describe_exception(error));
}

}  // namespace

ChatApp::ChatApp(std::shared_ptr<Client> client, View& view)
    : client_(std::move(client)),
      view_(view),
      lines_ready_(client_->executor()),
      progress_(client_->executor()) {}

asio::awaitable<bool> ChatApp::start(std::string first_room) {
  asio::co_spawn(client_->executor(), event_loop(), log_failure);
  auto welcome = co_await client_->connect();
  if (!welcome) {
    fail(welcome.failure());
    gave_up_ = true;
    co_return false;
  }
  if (!welcome.value().motd().empty()) view_.info(welcome.value().motd());
  for (const auto& marker : welcome.value().read_markers()) {
    read_markers_[name_key(marker.room())] = marker.seq();
  }
  if (!first_room.empty()) co_await join(first_room);
  co_return true;
}

asio::awaitable<int> ChatApp::run() {
  for (;;) {
    while (lines_.empty() && !input_ended_ && !quitting_) co_await lines_ready_.wait();
    if (quitting_) break;
    if (lines_.empty()) {  // the input ended: wait for the last Acks
      while ((sends_in_flight_ > 0 || marking_) && !client_->closed()) co_await progress_.wait();
      break;
    }
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    auto parsed = parse_command(line);
    if (auto* error = std::get_if<ParseError>(&parsed)) {
      fail(error->message);
      continue;
    }
    co_await execute(std::move(std::get<Command>(parsed)));
  }
  while (sends_in_flight_ > 0 && !client_->closed() && !quitting_) co_await progress_.wait();
  client_->close();  // fails the sends still waiting; they finish before this object goes
  while (!events_done_ || sends_in_flight_ > 0 || marking_) co_await progress_.wait();
  co_return failures_ == 0 ? 0 : 1;
}

void ChatApp::submit(std::string line) {
  lines_.push_back(std::move(line));
  lines_ready_.notify();
}

void ChatApp::end_of_input() {
  input_ended_ = true;
  lines_ready_.notify();
}

void ChatApp::quit() {
  quitting_ = true;
  lines_ready_.notify();
}

std::set<std::string> ChatApp::known_rooms() const {
  std::set<std::string> rooms = listed_rooms_;
  for (const std::string& room : client_->joined_rooms()) rooms.insert(room);
  return rooms;
}

asio::awaitable<void> ChatApp::event_loop() {
  for (;;) {
    ClientEvent event = co_await client_->next_event();
    follow(event);
    view_.event(event, current_);
    const auto* connection = std::get_if<ConnectionEvent>(&event);
    if (connection && connection->state == ConnectionState::closed) break;
  }
  events_done_ = true;
  if (!quitting_ && !input_ended_) {
    ++failures_;  // the client gave up (a refused nick or password): nothing more can work
    gave_up_ = true;
    quit();
  }
  progress_.notify();
}

void ChatApp::follow(const ClientEvent& event) {
  const auto* frame = std::get_if<v1::ServerFrame>(&event);
  if (!frame) return;
  if (frame->has_room_message()) {
    const auto& message = frame->room_message();
    nicks_.insert(message.from());
    const std::string key = name_key(message.room());
    if (key != name_key(current_) && name_key(message.from()) != name_key(client_->nick())) {
      ++unread_[key];
    } else if (key == name_key(current_)) {
      note_read(message.room(), message.seq());
    }
  } else if (frame->has_member_joined()) {
    nicks_.insert(frame->member_joined().nick());
  } else if (frame->has_nick_changed()) {
    nicks_.erase(frame->nick_changed().old_nick());
    nicks_.insert(frame->nick_changed().new_nick());
  } else if (frame->has_direct_message()) {
    nicks_.insert(frame->direct_message().from());
  }
}

// A registered nick's read marker follows what was shown in the current room, at most once a
// second (the server keeps it; the next session starts from it).
void ChatApp::note_read(const std::string& room, std::uint64_t seq) {
  if (!registered_ && !client_->has_password()) return;
  to_mark_[room] = std::max(to_mark_[room], seq);
  if (marking_) return;
  marking_ = true;
  asio::co_spawn(client_->executor(), mark_read_soon(), log_failure);
}

asio::awaitable<void> ChatApp::mark_read_soon() {
  asio::steady_timer delay(client_->executor(), std::chrono::seconds(1));
  co_await delay.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  auto marks = std::move(to_mark_);
  to_mark_.clear();
  for (const auto& [room, seq] : marks) {
    if (events_done_) break;
    if ((co_await client_->mark_read(room, seq)).ok()) read_markers_[name_key(room)] = seq;
  }
  marking_ = false;
  progress_.notify();
}

void ChatApp::fail(std::string_view text) {
  ++failures_;
  view_.error(text);
}

void ChatApp::fail(const Failure& failure) {
  std::string text = failure.message;
  if (failure.retry_after_ms > 0)
    text += " (retry in " + std::to_string(failure.retry_after_ms) + " ms)";
  fail(text);
}

bool ChatApp::need_room() {
  if (!current_.empty()) return true;
  fail("not in a room: /join one first");
  return false;
}

}  // namespace chat::client::app
