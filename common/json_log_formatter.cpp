#include "json_log_formatter.hpp"

#include <spdlog/common.h>

#include <chrono>
#include <cstddef>
#include <iterator>
#include <string_view>

#include "utf8.hpp"

namespace chat {
namespace {

void append(spdlog::memory_buf_t& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

void append_rfc3339_utc(spdlog::memory_buf_t& out, spdlog::log_clock::time_point when) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(when);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss time{ms - day};
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                 static_cast<unsigned>(date.day()), time.hours().count(), time.minutes().count(),
                 time.seconds().count(), time.subseconds().count());
}

void append_escaped_ascii(spdlog::memory_buf_t& out, char c) {
  switch (c) {
    case '"':
      append(out, "\\\"");
      break;
    case '\\':
      append(out, "\\\\");
      break;
    case '\n':
      append(out, "\\n");
      break;
    case '\r':
      append(out, "\\r");
      break;
    case '\t':
      append(out, "\\t");
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        fmt::format_to(std::back_inserter(out), "\\u{:04X}", static_cast<unsigned char>(c));
      } else {
        out.push_back(c);
      }
  }
}

// The contents of a JSON string, without the quotes.
void append_escaped(spdlog::memory_buf_t& out, std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      append_escaped_ascii(out, text[pos++]);
      continue;
    }
    const std::size_t start = pos;
    if (utf8::decode_one(text, pos)) {
      append(out, text.substr(start, pos - start));
    } else {
      append(out, "\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
      pos = start + 1;
    }
  }
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  append(dest, "{\"time\":\"");
  append_rfc3339_utc(dest, msg.time);
  append(dest, "\",\"level\":\"");
  const auto level = spdlog::level::to_string_view(msg.level);
  append(dest, std::string_view(level.data(), level.size()));
  append(dest, "\",\"msg\":\"");
  append_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
  append(dest, "\"}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace chat
