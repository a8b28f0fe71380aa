// The commands: each validates what it can locally, asks the client, and shows the outcome.
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>

#include "chat_app.hpp"
#include "logging.hpp"
#include "names.hpp"

namespace chat::client::app {

asio::awaitable<void> ChatApp::execute(Command command) {
  using namespace command;
  if (auto* say_text = std::get_if<Say>(&command)) {
    say(std::move(say_text->text), false);
  } else if (auto* action = std::get_if<Me>(&command)) {
    say(std::move(action->text), true);
  } else if (auto* to_join = std::get_if<Join>(&command)) {
    co_await join(to_join->room);
  } else if (auto* to_leave = std::get_if<Leave>(&command)) {
    co_await leave(to_leave->room);
  } else if (auto* message = std::get_if<Msg>(&command)) {
    co_await direct(*message);
  } else if (auto* new_nick = std::get_if<Nick>(&command)) {
    co_await nick(new_nick->nick);
  } else if (auto* members = std::get_if<Who>(&command)) {
    co_await who(members->room);
  } else if (std::holds_alternative<Rooms>(command)) {
    co_await list_rooms();
  } else if (auto* new_topic = std::get_if<Topic>(&command)) {
    co_await topic(new_topic->topic);
  } else if (auto* recent = std::get_if<History>(&command)) {
    co_await history(recent->count);
  } else if (auto* change = std::get_if<Edit>(&command)) {
    co_await edit(*change);
  } else if (auto* removal = std::get_if<Delete>(&command)) {
    co_await remove(removal->seq);
  } else if (auto* claim = std::get_if<Register>(&command)) {
    co_await register_nick(claim->password);
  } else if (std::holds_alternative<Quit>(command)) {
    quit();
  } else if (std::holds_alternative<Help>(command)) {
    help();
  }
}

// Sends run concurrently (the client keeps their order), so a pasted or piped burst is not
// paced by round trips.
void ChatApp::say(std::string text, bool action) {
  if (!need_room()) return;
  const std::uint32_t limit = client_->welcome().limits().max_text_bytes();
  if (const auto problem = check_text(text, limit ? limit : 4096); problem != NameProblem::ok) {
    fail("message " + std::string(describe(problem)));
    return;
  }
  ++sends_in_flight_;
  auto send = [this, room = current_, text = std::move(text), action]() -> asio::awaitable<void> {
    auto ack = co_await client_->send(room, text, action);
    if (ack) {
      last_own_seq_[name_key(room)] = ack.value().seq();
      view_.sent(ack.value());
    } else {
      fail(ack.failure());
    }
    --sends_in_flight_;
    progress_.notify();
  };
  asio::co_spawn(client_->executor(), std::move(send), [](std::exception_ptr error) {
    if (error) spdlog::error("chat-client: {}", describe_exception(error));
  });
}

asio::awaitable<void> ChatApp::join(const std::string& room) {
  if (const auto problem = check_room(room); problem != NameProblem::ok) {
    fail("room name " + std::string(describe(problem)));
    co_return;
  }
  for (const std::string& joined : client_->joined_rooms()) {
    if (name_key(joined) != name_key(room)) continue;
    current_ = joined;  // already in it: switch
    unread_[name_key(joined)] = 0;
    view_.room_changed(current_);
    view_.info("now talking in " + joined);
    co_return;
  }
  auto reply = co_await client_->join(room);
  if (!reply) co_return fail(reply.failure());
  current_ = reply.value().room();
  unread_[name_key(current_)] = 0;
  view_.room_changed(current_);
  view_.joined(reply.value());
  if (auto marker = read_markers_.find(name_key(current_)); marker != read_markers_.end()) {
    const std::uint64_t last = reply.value().last_seq();
    if (last > marker->second) {
      view_.info(std::to_string(last - marker->second) + " new since you were last here");
    }
  }
  auto members = co_await client_->who(current_);
  if (members) nicks_.insert(members.value().nicks().begin(), members.value().nicks().end());
}

asio::awaitable<void> ChatApp::leave(std::optional<std::string> room) {
  if (!room && !need_room()) co_return;
  const std::string target = room.value_or(current_);
  auto done = co_await client_->leave(target);
  if (!done) co_return fail(done.failure());
  unread_.erase(name_key(target));
  view_.left(target);
  if (name_key(target) == name_key(current_)) {
    const auto rest = client_->joined_rooms();
    current_ = rest.empty() ? std::string() : rest.back();
    view_.room_changed(current_);
    if (!current_.empty()) view_.info("now talking in " + current_);
  }
}

asio::awaitable<void> ChatApp::direct(const command::Msg& msg) {
  auto sent = co_await client_->send_direct(msg.nick, msg.text);
  if (!sent) co_return fail(sent.failure());
  view_.direct_sent(msg.nick, msg.text, sent.value());
}

asio::awaitable<void> ChatApp::who(std::optional<std::string> room) {
  if (!room && !need_room()) co_return;
  auto list = co_await client_->who(room.value_or(current_));
  if (!list) co_return fail(list.failure());
  nicks_.insert(list.value().nicks().begin(), list.value().nicks().end());
  view_.members(list.value());
}

asio::awaitable<void> ChatApp::list_rooms() {
  auto list = co_await client_->rooms();
  if (!list) co_return fail(list.failure());
  std::map<std::string, std::uint64_t> unread;
  for (const std::string& room : client_->joined_rooms()) unread[room] = unread_[name_key(room)];
  for (const auto& info : list.value().rooms()) listed_rooms_.insert(info.room());
  view_.rooms(list.value(), unread);
}

asio::awaitable<void> ChatApp::topic(std::optional<std::string> text) {
  if (!need_room()) co_return;
  if (!text) {
    auto list = co_await client_->rooms(current_);
    if (!list) co_return fail(list.failure());
    for (const auto& info : list.value().rooms()) {
      if (name_key(info.room()) == name_key(current_))
        co_return view_.topic(current_, info.topic());
    }
    co_return view_.topic(current_, "");
  }
  auto done = co_await client_->set_topic(current_, *text);
  if (!done) fail(done.failure());
}

asio::awaitable<void> ChatApp::history(std::uint32_t count) {
  if (!need_room()) co_return;
  v1::History query;
  query.set_room(current_);
  query.set_latest(true);
  query.set_limit(count);
  auto reply = co_await client_->history(std::move(query));
  if (!reply) co_return fail(reply.failure());
  view_.history(reply.value());
}

std::optional<std::uint64_t> ChatApp::own_seq(std::optional<std::uint64_t> seq) {
  if (seq) return seq;
  auto it = last_own_seq_.find(name_key(current_));
  if (it != last_own_seq_.end()) return it->second;
  fail("nothing of yours to change in " + current_ + " yet: give its number");
  return std::nullopt;
}

asio::awaitable<void> ChatApp::edit(const command::Edit& edit) {
  if (!need_room()) co_return;
  const auto seq = own_seq(edit.seq);
  if (!seq) co_return;
  auto done = co_await client_->edit(current_, *seq, edit.text);
  if (!done) fail(done.failure());
}

asio::awaitable<void> ChatApp::remove(std::optional<std::uint64_t> seq_given) {
  if (!need_room()) co_return;
  const auto seq = own_seq(seq_given);
  if (!seq) co_return;
  auto done = co_await client_->remove(current_, *seq);
  if (!done) fail(done.failure());
}

asio::awaitable<void> ChatApp::nick(const std::string& nick) {
  if (const auto problem = check_nick(nick); problem != NameProblem::ok) {
    co_return fail("nick " + std::string(describe(problem)));
  }
  auto done = co_await client_->set_nick(nick);
  if (!done) co_return fail(done.failure());
  view_.info("you are now " + nick);
}

asio::awaitable<void> ChatApp::register_nick(const std::string& password) {
  auto done = co_await client_->register_nick(password);
  if (!done) co_return fail(done.failure());
  registered_ = true;
  view_.info(client_->nick() + " is registered: give the password when you connect next time");
}

void ChatApp::help() {
  for (const CommandInfo& info : command_list()) {
    std::string line(info.usage);
    line.resize(std::max<std::size_t>(line.size() + 2, 20), ' ');
    view_.info(line + std::string(info.help));
  }
  view_.info("plain text goes to the current room; start it with // to send a leading /");
}

}  // namespace chat::client::app
