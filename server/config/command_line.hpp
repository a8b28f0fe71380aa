#pragma once
// chat-server's command line: every setting as a flag, plus --config, --check-config and
// --print-config. Precedence: embedded default < config file < flag.

#include <iosfwd>
#include <optional>
#include <string>
#include <variant>

#include "config.hpp"

namespace chat::server {

struct CommandLine {
  ServerConfig config;
  std::optional<std::string> config_path;
  bool print_config = false;
};

// The parsed command line, or the exit code to leave with at once (0 after --help or a good
// --check-config, 2 after a one-line error on err).
std::variant<CommandLine, int> parse_command_line(int argc, const char* const* argv,
                                                  std::ostream& out, std::ostream& err);

}  // namespace chat::server
