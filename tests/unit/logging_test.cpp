// JSON log lines: the exact shape, and escaping that any JSON parser reads back to the message.
#include <doctest/doctest.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/details/log_msg.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "json_log_formatter.hpp"
#include "logging.hpp"

using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

const auto example_time = sys_days{2026y / December / 1} + 10h + 123ms;

std::string format_json(std::string_view text,
                        spdlog::level::level_enum level = spdlog::level::info,
                        system_clock::time_point when = example_time) {
  const spdlog::details::log_msg msg(when, spdlog::source_loc{}, "chat", level, text);
  spdlog::memory_buf_t out;
  chat::JsonLogFormatter().format(msg, out);
  return fmt::to_string(out);
}

// The "msg" of a line as protobuf's JSON parser decodes it; nullopt when the line is not valid
// JSON.
std::optional<std::string> parsed_message(const std::string& line) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(line, &object).ok()) return std::nullopt;
  const auto field = object.fields().find("msg");
  if (field == object.fields().end()) return std::nullopt;
  return field->second.string_value();
}

}  // namespace

TEST_CASE("a JSON log line is one object with UTC time, level and message") {
  CHECK(format_json("hello") ==
        "{\"time\":\"2026-12-01T10:00:00.123Z\",\"level\":\"info\",\"msg\":\"hello\"}\n");
  CHECK(format_json("", spdlog::level::warn) ==
        "{\"time\":\"2026-12-01T10:00:00.123Z\",\"level\":\"warning\",\"msg\":\"\"}\n");
  CHECK(parsed_message(format_json("hello")) == "hello");
}

TEST_CASE("JSON log times are truncated to the millisecond, never rounded into the next second") {
  const auto almost_midnight = sys_days{2026y / December / 31} + 23h + 59min + 59s + 999999us;
  CHECK(format_json("x", spdlog::level::err, almost_midnight)
            .starts_with("{\"time\":\"2026-12-31T23:59:59.999Z\",\"level\":\"error\""));
  CHECK(format_json("x", spdlog::level::debug, sys_days{1970y / January / 1})
            .starts_with("{\"time\":\"1970-01-01T00:00:00.000Z\""));
}

TEST_CASE("JSON log messages escape quotes, backslashes and control characters") {
  struct Case {
    std::string_view text;
    std::string_view escaped;
  };
  for (const auto& [text, escaped] : {
           Case{"say \"hi\"", "say \\\"hi\\\""},
           Case{"C:\\dir\\", "C:\\\\dir\\\\"},
           Case{"two\nlines\r\n", "two\\nlines\\r\\n"},
           Case{"a\tb", "a\\tb"},
           Case{"bell\x07 esc\x1b del\x7f", "bell\\u0007 esc\\u001B del\\u007F"},
           Case{std::string_view("nul\0byte", 8), "nul\\u0000byte"},
           Case{"zoë 名前 😀", "zoë 名前 😀"},
       }) {
    CAPTURE(text);
    const std::string line = format_json(text);
    CHECK(line.find("\"msg\":\"" + std::string(escaped) + "\"}\n") != std::string::npos);
    CHECK(parsed_message(line) == std::string(text));
  }
}

TEST_CASE("JSON log messages replace each byte of ill-formed UTF-8 with U+FFFD") {
  const std::string replacement = "\xEF\xBF\xBD";
  CHECK(parsed_message(format_json("a\xff!")) == "a" + replacement + "!");
  CHECK(parsed_message(format_json("cut \xc3")) == "cut " + replacement);
  CHECK(parsed_message(format_json("overlong \xc0\xaf")) ==
        "overlong " + replacement + replacement);
  CHECK(parsed_message(format_json("surrogate \xed\xa0\x80!")) ==
        "surrogate " + replacement + replacement + replacement + "!");
}

TEST_CASE("a cloned JSON formatter formats the same") {
  const spdlog::details::log_msg msg(example_time, spdlog::source_loc{}, "chat",
                                     spdlog::level::critical, "down \"now\"");
  spdlog::memory_buf_t original;
  spdlog::memory_buf_t cloned;
  chat::JsonLogFormatter formatter;
  formatter.format(msg, original);
  formatter.clone()->format(msg, cloned);
  CHECK(fmt::to_string(cloned) == fmt::to_string(original));
}

TEST_CASE("log formats by name") {
  CHECK(chat::parse_log_format("human") == chat::LogFormat::human);
  CHECK(chat::parse_log_format("json") == chat::LogFormat::json);
  for (const char* bad : {"", "JSON", "text", "json "}) {
    CAPTURE(bad);
    CHECK_FALSE(chat::parse_log_format(bad));
  }
}
