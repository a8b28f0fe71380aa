#pragma once
// The chat app without its terminal: runs the commands a user types (or a script pipes) against a
// chat::Client, follows the events (current room, unread counts, who is around) and tells a View.
// The terminal and the script mode feed it lines; it does the rest.

#include <asio/awaitable.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client.hpp"
#include "command.hpp"
#include "view.hpp"
#include "wake_signal.hpp"

namespace chat::client::app {

class ChatApp {
 public:
  ChatApp(std::shared_ptr<Client> client, View& view);

  // Connects and joins the first room; false (and an error shown) when the server cannot be
  // reached or refuses the nick.
  asio::awaitable<bool> start(std::string first_room);
  // Runs queued lines until /quit, or until the input ended and every send was acknowledged.
  // Returns the exit status: 0 when every command succeeded.
  asio::awaitable<int> run();

  void submit(std::string line);
  void end_of_input();
  void quit();

  // The client closed by itself: the server refused the nick or password, or could not be reached.
  bool gave_up() const { return gave_up_; }
  const std::string& current_room() const { return current_; }
  const std::set<std::string>& known_nicks() const { return nicks_; }
  std::set<std::string> known_rooms() const;

 private:
  asio::awaitable<void> event_loop();
  void follow(const ClientEvent& event);
  void note_read(const std::string& room, std::uint64_t seq);
  asio::awaitable<void> mark_read_soon();
  asio::awaitable<void> execute(Command command);
  void say(std::string text, bool action);
  asio::awaitable<void> join(const std::string& room);
  asio::awaitable<void> leave(std::optional<std::string> room);
  asio::awaitable<void> direct(const command::Msg& msg);
  asio::awaitable<void> who(std::optional<std::string> room);
  asio::awaitable<void> list_rooms();
  asio::awaitable<void> topic(std::optional<std::string> text);
  asio::awaitable<void> history(std::uint32_t count);
  asio::awaitable<void> edit(const command::Edit& edit);
  asio::awaitable<void> remove(std::optional<std::uint64_t> seq);
  asio::awaitable<void> nick(const std::string& nick);
  asio::awaitable<void> register_nick(const std::string& password);
  void help();
  bool need_room();
  std::optional<std::uint64_t> own_seq(std::optional<std::uint64_t> seq);
  void fail(std::string_view text);
  void fail(const Failure& failure);

  std::shared_ptr<Client> client_;
  View& view_;
  std::string current_;
  std::deque<std::string> lines_;
  bool input_ended_ = false;
  bool quitting_ = false;
  bool events_done_ = false;
  bool gave_up_ = false;
  int failures_ = 0;
  std::size_t sends_in_flight_ = 0;
  WakeSignal lines_ready_;
  WakeSignal progress_;                                // a send finished or the event loop ended
  std::map<std::string, std::uint64_t> unread_;        // joined rooms by name_key
  std::map<std::string, std::uint64_t> last_own_seq_;  // by name_key, for /edit and /delete
  std::set<std::string> nicks_;
  // Read markers (registered nicks: the server keeps them across sessions), by name_key.
  std::map<std::string, std::uint64_t> read_markers_;
  std::map<std::string, std::uint64_t> to_mark_;  // seen in the current room, not yet marked
  bool marking_ = false;
  bool registered_ = false;  // registered in this session (a login with a password shows markers)
  std::set<std::string> listed_rooms_;
};

}  // namespace chat::client::app
