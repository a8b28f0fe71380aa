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
  // A person waits for the server to come up; a script fails fast.
  client.connect_attempts = options.script ? 3 : 0;
  return client;
}

// Script mode: stdin line by line into the app; over-long lines are cut off and refused.
asio::awaitable<void> read_script(ChatApp& app) {
  asio::posix::stream_descriptor input(co_await asio::this_coro::executor, ::dup(STDIN_FILENO));
  std::string buffer;
  for (;;) {
    auto [error, n] =
        co_await asio::async_read_until(input, asio::dynamic_buffer(buffer, max_line_bytes + 2),
                                        '\n', as_tuple(asio::use_awaitable));
    if (error == asio::error::not_found) {  // no newline within the limit
      app.submit(std::string(buffer));      // the app refuses it as too long
      buffer.clear();
      continue;
    }
    if (error) break;
    std::string line = buffer.substr(0, n - 1);
    buffer.erase(0, n);
    app.submit(std::move(line));
  }
  if (!buffer.empty()) app.submit(std::move(buffer));  // a last line without its newline
  app.end_of_input();
}

asio::awaitable<int> run_script(const AppOptions& options, int& status) {
  auto client = Client::create(co_await asio::this_coro::executor, client_options(options));
  ScriptView view;
  ChatApp app(client, view);
  if (!co_await app.start(options.room)) {
    client->close();
    co_return status = 1;
  }
  asio::co_spawn(co_await asio::this_coro::executor, read_script(app), log_failure);
  co_return status = co_await app.run();
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
  status = co_await app.run();
  signals.cancel();
  terminal.stop();
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
