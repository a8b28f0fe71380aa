#pragma once
// Log lines as JSON for log collectors: one object per line, no colours.

#include <memory>

#include <spdlog/formatter.h>

namespace chat {

// {"time":"2026-12-01T10:00:00.123Z","level":"info","msg":"..."} and a newline. The time is UTC
// with milliseconds (RFC 3339); the level is spdlog's name for it ("warning", not "warn"). The
// message is escaped so any bytes make valid JSON: quotes, backslashes and control characters are
// escaped, and each byte of ill-formed UTF-8 becomes U+FFFD.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace chat
