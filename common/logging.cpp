#include "logging.hpp"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace chat {
namespace {

void protobuf_log_handler(google::protobuf::LogLevel level, const char* file, int line,
                          const std::string& message) {
  // Protobuf logs parse failures of hostile input at ERROR; they are handled as protocol errors.
  const auto spd_level =
      level >= google::protobuf::LOGLEVEL_FATAL ? spdlog::level::critical : spdlog::level::debug;
  spdlog::log(spd_level, "protobuf {}:{}: {}", file, line, message);
}

}  // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  const auto level = spdlog::level::from_str(std::string(name));
  // from_str answers "off" for any unknown name.
  if (level == spdlog::level::off && name != "off") return std::nullopt;
  return level;
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

void setup_logging(spdlog::level::level_enum level) {
  auto logger = spdlog::get("chat");
  if (!logger) logger = spdlog::stderr_color_mt("chat");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  google::protobuf::SetLogHandler(&protobuf_log_handler);
}

}  // namespace chat
