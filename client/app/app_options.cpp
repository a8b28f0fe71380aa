#include "app_options.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <ostream>

#include "command_line_parse.hpp"
#include "host_port.hpp"
#include "names.hpp"

namespace chat::client::app {

std::variant<AppOptions, int> parse_app_options(int argc, const char* const* argv,
                                                std::ostream& out, std::ostream& err,
                                                bool stdin_is_terminal, bool stdout_is_terminal,
                                                bool no_color_env) {
  AppOptions options;
  std::string server = "127.0.0.1:7777";
  bool no_color = false;
  CLI::App app{"chat-client: talk on a chat-server from a terminal, or from a script",
               "chat-client"};
  app.option_defaults()->always_capture_default();
  auto* nick_option = app.add_option("--nick", options.nick, "your nick (default: $USER)");
  app.add_option("--server", server, "HOST:PORT of the chat-server");
  app.add_option("--room", options.room, "room to join first");
  app.add_option("--password", options.password, "password of a registered nick");
  app.add_flag("--script", options.script,
               "read commands from stdin, write events as JSON lines (default when stdin is not "
               "a terminal)");
  app.add_flag("--no-color", no_color, "no colours (also: NO_COLOR set, or stdout not a terminal)");
  app.add_flag("--tls", options.tls, "connect with TLS (the server's tls_listen port)");
  app.add_option("--ca-file", options.ca_file,
                 "PEM file of the CA(s) to trust for TLS (default: the system's)")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", options.insecure,
               "TLS without checking the server's certificate or name (development only)");
  if (auto exit_code = parse_or_exit_code(app, argc, argv, out, err, "chat-client"))
    return *exit_code;
  auto fail = [&](const std::string& message) {
    err << "chat-client: " << message << "\n";
    return 2;
  };
  if (options.nick.empty() && nick_option->count() == 0) {
    const char* user = std::getenv("USER");
    if (user && check_nick(user) == NameProblem::ok) options.nick = user;
  }
  if (options.nick.empty()) return fail("--nick is required");
  if (const auto problem = check_nick(options.nick); problem != NameProblem::ok) {
    return fail("--nick: '" + options.nick + "' " + std::string(describe(problem)));
  }
  if (!options.room.empty()) {
    if (const auto problem = check_room(options.room); problem != NameProblem::ok) {
      return fail("--room: '" + options.room + "' " + std::string(describe(problem)));
    }
  }
  const auto address = parse_host_port(server);
  if (!address || address->port == 0) return fail("--server: '" + server + "' is not HOST:PORT");
  options.host = address->host;
  options.port = address->port;
  if (!options.tls && (options.insecure || !options.ca_file.empty()))
    return fail(std::string(options.insecure ? "--insecure" : "--ca-file") + " needs --tls");
  if (options.insecure && !options.ca_file.empty())
    return fail("--insecure and --ca-file: choose one");
  if (options.insecure) {
    err << "chat-client: warning: --insecure: the server's certificate is not checked; anyone "
           "between you and it can read and change what you send\n";
  }
  options.script = options.script || !stdin_is_terminal;
  options.color = !no_color && !no_color_env && stdout_is_terminal && !options.script;
  return options;
}

}  // namespace chat::client::app
