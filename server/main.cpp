// chat-server: parses the command line, starts the server, and waits for signals: SIGINT and
// SIGTERM shut it down gracefully, SIGHUP reloads limits and log level.
#include <spdlog/spdlog.h>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>

#include "command_line.hpp"
#include "logging.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  using namespace chat::server;
  auto parsed = parse_command_line(argc, argv, std::cout, std::cerr);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const CommandLine& command_line = std::get<CommandLine>(parsed);
  const ServerConfig& config = command_line.config;
  if (command_line.print_config) {
    std::cout << to_toml(config);
    return 0;
  }
  chat::setup_logging(*chat::parse_log_level(config.log_level),
                      *chat::parse_log_format(config.log_format));

  try {
    std::filesystem::create_directories(config.data_dir);
    Server server(config);
    server.start();

    asio::io_context io(1);
    asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    std::function<void(const asio::error_code&, int)> on_signal = [&](const asio::error_code& ec,
                                                                      int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        auto reparsed = parse_command_line(argc, argv, std::cout, std::cerr);
        if (const auto* fresh = std::get_if<CommandLine>(&reparsed)) {
          server.reload(fresh->config);
        } else {
          spdlog::error("reload: configuration refused, keeping the current one");
        }
        signals.async_wait(on_signal);
        return;
      }
      spdlog::info("signal {}: shutting down", signal);
      server.stop();
    };
    signals.async_wait(on_signal);
    io.run();
  } catch (const std::exception& e) {
    spdlog::critical("chat-server: {}", e.what());
    return 1;
  }
  return 0;
}
