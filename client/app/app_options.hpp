#pragma once
// chat-client's command line.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <variant>

namespace chat::client::app {

struct AppOptions {
  std::string nick;
  std::string host = "127.0.0.1";
  std::uint16_t port = 7777;
  std::string room;      // joined first (empty: none)
  std::string password;  // for a registered nick
  bool script = false;   // JSON lines; also whenever stdin is not a terminal
  bool color = true;     // off with --no-color, NO_COLOR, or when stdout is not a terminal
  bool tls = false;
  std::string ca_file;    // empty: the system's trusted CAs
  bool insecure = false;  // TLS without checking the certificate or the host name
};

// The options, or the exit code to leave with at once (0 after --help, 2 after a one-line error).
// stdin_is_terminal / stdout_is_terminal / no_color_env: the environment, passed in for tests.
std::variant<AppOptions, int> parse_app_options(int argc, const char* const* argv,
                                                std::ostream& out, std::ostream& err,
                                                bool stdin_is_terminal, bool stdout_is_terminal,
                                                bool no_color_env);

}  // namespace chat::client::app
