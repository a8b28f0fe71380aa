#include "logging.hpp"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "json_log_formatter.hpp"

namespace chat {
namespace {

void protobuf_log_handler(google::protobuf::LogLevel level, const char* file, int line,
                          const std::string& message) {
  // Protobuf logs parse failures of hostile input at ERROR; they are handled as protocol errors.
  const auto spd_level =
      level >= google::protobuf::LOGLEVEL_FATAL ? spdlog::level::critical : spdlog::level::debug;
  spdlog::log(spd_level, "protobuf {}:{}: {}", file, line, message);
}

// The logger is kept across calls: code may be logging through the default logger's raw pointer.
std::shared_ptr<spdlog::logger> chat_logger(LogFormat format) {
  if (auto logger = spdlog::get("chat")) return logger;
  return format == LogFormat::json ? spdlog::stderr_logger_mt("chat")
                                   : spdlog::stderr_color_mt("chat");
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  const auto level = spdlog::level::from_str(std::string(name));
  // from_str answers "off" for any unknown name.
  if (level == spdlog::level::off && name != "off") return std::nullopt;
  return level;
}

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "human") return LogFormat::human;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

std::string describe_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

void setup_logging(spdlog::level::level_enum level, LogFormat format) {
  auto logger = chat_logger(format);
  if (format == LogFormat::json) {
    // Colours come only from the pattern's %^...%$, so a colour sink kept from before prints none.
    logger->set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  google::protobuf::SetLogHandler(&protobuf_log_handler);
}

}  // namespace chat
