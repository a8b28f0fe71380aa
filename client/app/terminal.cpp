#include "terminal.hpp"

#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace chat::client::app {
namespace {

Terminal* active_terminal = nullptr;  // readline's callbacks are plain functions

}  // namespace

Terminal::Terminal(const asio::any_io_executor& executor, Callbacks callbacks)
    : input_(executor, ::dup(STDIN_FILENO)),
      resize_(executor, SIGWINCH),
      callbacks_(std::move(callbacks)),
      loop_ended_(executor) {
  active_terminal = this;
  rl_catch_signals = 0;  // Asio handles SIGINT and SIGTERM, and restores the terminal
  rl_catch_sigwinch = 0;
  rl_attempted_completion_function = &Terminal::on_complete;
  rl_basic_word_break_characters = const_cast<char*>(" ");
  rl_callback_handler_install(prompt_.c_str(), &Terminal::on_line);
  installed_ = true;
  watch_resize();
}

void Terminal::watch_resize() {
  resize_.async_wait([this](asio::error_code error, int) {
    if (error) return;  // cancelled: this may be gone
    if (installed_) rl_resize_terminal();
    watch_resize();
  });
}

Terminal::~Terminal() {
  remove_handler();
  active_terminal = nullptr;
}

asio::awaitable<void> Terminal::stop() {
  remove_handler();
  while (loop_running_) co_await loop_ended_.wait();
}

void Terminal::remove_handler() {
  if (!installed_) return;
  installed_ = false;
  rl_set_prompt("");  // leave no prompt behind on the screen
  rl_replace_line("", 0);
  rl_redisplay();
  rl_callback_handler_remove();
  std::fflush(stdout);
  asio::error_code cancelled;
  resize_.cancel(cancelled);
  asio::error_code ignored;
  input_.cancel(ignored);
}

asio::awaitable<void> Terminal::input_loop() {
  loop_running_ = true;
  while (installed_) {
    auto [error] = co_await input_.async_wait(asio::posix::stream_descriptor::wait_read,
                                              asio::experimental::as_tuple(asio::use_awaitable));
    if (error || !installed_) break;
    rl_callback_read_char();
  }
  loop_running_ = false;
  loop_ended_.notify();
}

void Terminal::print(std::string_view line) {
  if (!installed_) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    return;
  }
  const int saved_point = rl_point;
  char* saved_line = rl_copy_text(0, rl_end);
  rl_save_prompt();
  rl_replace_line("", 0);
  rl_redisplay();
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  rl_restore_prompt();
  rl_replace_line(saved_line, 0);
  rl_point = saved_point;
  rl_redisplay();
  std::free(saved_line);
  std::fflush(stdout);
}

void Terminal::set_prompt(std::string prompt) {
  prompt_ = std::move(prompt);
  if (!installed_) return;
  rl_set_prompt(prompt_.c_str());
  rl_redisplay();
}

void Terminal::on_line(char* line) {
  Terminal* self = active_terminal;
  if (!self) return std::free(line);
  if (!line) {
    if (self->callbacks_.end) self->callbacks_.end();
    return;
  }
  if (*line) add_history(line);
  std::string text(line);
  std::free(line);
  if (self->callbacks_.line) self->callbacks_.line(std::move(text));
}

char** Terminal::on_complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  Terminal* self = active_terminal;
  if (!self || !self->callbacks_.complete) return nullptr;
  self->matches_ = self->callbacks_.complete(rl_line_buffer, static_cast<std::size_t>(start), text);
  if (self->matches_.empty()) return nullptr;
  return rl_completion_matches(text, &Terminal::next_match);
}

char* Terminal::next_match(const char*, int state) {
  Terminal* self = active_terminal;
  const auto index = static_cast<std::size_t>(state);
  if (!self || index >= self->matches_.size()) return nullptr;
  return strdup(self->matches_[index].c_str());
}

}  // namespace chat::client::app
