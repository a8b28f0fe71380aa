#pragma once
// GNU readline's callback interface on an Asio stream descriptor: typing and incoming messages
// share one event loop. A line printed while the user types appears above the prompt, and the
// half-typed line is redrawn below it, cursor and all. One Terminal at a time (readline is global).

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "wake_signal.hpp"

namespace chat::client::app {

class Terminal {
 public:
  struct Callbacks {
    std::function<void(std::string)> line;  // a line was entered
    std::function<void()> end;              // Ctrl-D on an empty line
    // Candidates for Tab: (whole line, word start, word).
    std::function<std::vector<std::string>(std::string_view, std::size_t, std::string_view)>
        complete;
  };

  Terminal(const asio::any_io_executor& executor, Callbacks callbacks);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // Reads keys until stop(); readline echoes and edits, and calls back with whole lines.
  asio::awaitable<void> input_loop();
  // Gives the terminal back (prompt removed, modes restored) and waits for input_loop() to end.
  asio::awaitable<void> stop();
  void print(std::string_view line);
  void set_prompt(std::string prompt);

 private:
  void remove_handler();
  static void on_line(char* line);
  static char** on_complete(const char* text, int start, int end);
  static char* next_match(const char* text, int state);

  void watch_resize();

  asio::posix::stream_descriptor input_;
  asio::signal_set resize_;  // SIGWINCH: readline's own handler is not installed between keys
  Callbacks callbacks_;
  std::string prompt_;
  bool installed_ = false;
  bool loop_running_ = false;
  WakeSignal loop_ended_;
  std::vector<std::string> matches_;
};

}  // namespace chat::client::app
