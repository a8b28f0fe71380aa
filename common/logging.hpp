#pragma once
// Logging set-up shared by every program: spdlog to stderr, colours on a terminal.

#include <optional>
#include <string_view>

#include <spdlog/common.h>

namespace chat {

// Parses "trace|debug|info|warn|error|critical|off"; nullopt for anything else.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Installs the default logger with the level given, and routes protobuf's own log lines into it.
void setup_logging(spdlog::level::level_enum level);

}  // namespace chat
