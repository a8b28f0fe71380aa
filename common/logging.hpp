#pragma once
// Logging set-up shared by every program: spdlog to stderr, for people (colours on a terminal) or
// as JSON lines for log collectors.

#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>

namespace chat {

// Parses "trace|debug|info|warn|error|critical|off"; nullopt for anything else.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

enum class LogFormat { human, json };

// Parses "human|json"; nullopt for anything else.
std::optional<LogFormat> parse_log_format(std::string_view name);

// What an exception caught at a co_spawn boundary says ("unknown exception" for a non-std one).
std::string describe_exception(std::exception_ptr error);

// Installs the default logger with the level and format given, and routes protobuf's own log lines
// into it. Called again, it changes the existing logger rather than replacing it.
void setup_logging(spdlog::level::level_enum level, LogFormat format = LogFormat::human);

}  // namespace chat
