#include "run_app.hpp"

#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>

#include "chat_app.hpp"
#include "completion.hpp"
#include "logging.hpp"
#include "script_view.hpp"
#include "terminal_view.hpp"

namespace chat::client::app {
namespace {

using asio::experimental::as_tuple;

void log_failure(std::exception_ptr error) {
  if (error) std::fprintf(stderr, "chat-client: %s\n", describe_exception(error).c_str());
}

ClientOptions client_options(const AppOptions& options) {
  ClientOptions client;
  client.host = options.host;
  client.port = options.port;
  client.nick = options.nick;
  client.password = options.password;
  client.tls = options.tls;
  client.ca_file = options.ca_file;
  client.verify = !options.insecure;
  // A person waits for the server to come up; a script fails fast.
  client.connect_attempts = options.script ? 3 : 0;
  return client;
}

// Script mode's stdin, read line by line into the app. An over-long line is handed over cut (the
// app refuses it) and the rest of it is skipped.
class ScriptInput {
 public:
  explicit ScriptInput(const asio::any_io_executor& executor)
      : input_(executor, ::dup(STDIN_FILENO)), finished_(executor) {}

  asio::awaitable<void> read_into(ChatApp& app) {
    reading_ = true;
    std::string buffer;
    bool skipping = false;  // inside the rest of an over-long line
    for (;;) {
      auto [error, n] =
          co_await asio::async_read_until(input_, asio::dynamic_buffer(buffer, max_line_bytes + 2),
                                          '\n', as_tuple(asio::use_awaitable));
      if (error == asio::error::not_found) {
        if (!skipping) app.submit(std::move(buffer));
        buffer.clear();
        skipping = true;
        continue;
      }
      if (error) break;
      if (!skipping) app.submit(buffer.substr(0, n - 1));
      buffer.erase(0, n);
      skipping = false;
    }
    if (!buffer.empty() && !skipping) app.submit(std::move(buffer));  // no final newline
    app.end_of_input();
    reading_ = false;
    finished_.notify();
  }

  // Stops reading and waits until read_into() has returned.
  asio::awaitable<void> stop() {
    asio::error_code ignored;
    input_.cancel(ignored);
    while (reading_) co_await finished_.wait();
  }

 private:
  asio::posix::stream_descriptor input_;
  bool reading_ = false;
  WakeSignal finished_;
};

asio::awaitable<int> run_script(const AppOptions& options, int& status) {
  const auto executor = co_await asio::this_coro::executor;
  auto client = Client::create(executor, client_options(options));
  ScriptView view;
  ChatApp app(client, view);
  ScriptInput input(executor);
  if (co_await app.start(options.room)) {
    asio::co_spawn(executor, input.read_into(app), log_failure);
  } else {
    app.end_of_input();
  }
  status = co_await app.run();
  co_await input.stop();
  co_return status;
}

asio::awaitable<int> run_terminal(const AppOptions& options, int& status) {
  auto executor = co_await asio::this_coro::executor;
  auto client = Client::create(executor, client_options(options));
  ChatApp* app_ptr = nullptr;
  Terminal terminal(
      executor,
      Terminal::Callbacks{
          [&](std::string line) { app_ptr->submit(std::move(line)); }, [&] { app_ptr->quit(); },
          [&](std::string_view line, std::size_t start, std::string_view word) {
            return complete_word(line, start, word, app_ptr->known_nicks(), app_ptr->known_rooms());
          }});
  TerminalView view(terminal, options.color);
  ChatApp app(client, view);
  app_ptr = &app;
  view.room_changed("");
  asio::signal_set signals(executor, SIGINT, SIGTERM);
  signals.async_wait([&app](asio::error_code error, int) {
    if (!error) app.quit();
  });
  asio::co_spawn(executor, terminal.input_loop(), log_failure);
  if (co_await app.start(options.room)) view.info("type /help for commands");
  co_await app.run();  // a person's typos do not make the session fail, only losing the server
  status = app.gave_up() ? 1 : 0;
  signals.cancel();
  co_await terminal.stop();
  co_return status;
}

}  // namespace

int run_app(const AppOptions& options) {
  asio::io_context io(1);
  int status = 1;
  asio::co_spawn(io, options.script ? run_script(options, status) : run_terminal(options, status),
                 [](std::exception_ptr error, int) { log_failure(error); });
  io.run();
  return status;
}

}  // namespace chat::client::app
