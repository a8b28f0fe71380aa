#pragma once
// Redis's wire protocol without I/O: commands encoded as RESP arrays, replies decoded by hiredis's
// reader into plain values that own their data.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace chat::server::redis {

struct Reply {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;
  std::string text;  // string, status or error
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
  // "integer 3", "error ERR unknown command": for messages and tests.
  std::string describe() const;
};

// An integer reply, or a decimal one in a string; 0 otherwise.
std::uint64_t reply_number(const Reply& reply);
// What went wrong, for a reply that is not the one expected: Redis's error, or the reply itself.
std::string reply_failure(const Reply& reply);
// Decimal digits to a number (0 when there are none).
std::uint64_t parse_u64(std::string_view text);

// One command as Redis reads it: an array of bulk strings (binary-safe).
std::string encode_command(const std::vector<std::string>& args);

// The same, built one argument at a time without a string per argument (a message's hot path).
class CommandEncoder {
 public:
  CommandEncoder& arg(std::string_view text);
  CommandEncoder& arg(std::string_view first, std::string_view second);  // one argument of both
  std::string finish() &&;

 private:
  std::string body_;
  std::size_t count_ = 0;
};

class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // False once the stream is not RESP (error() says why); the connection must then be dropped.
  bool feed(std::string_view bytes);
  // The next complete reply, if one has arrived.
  std::optional<Reply> next();
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  redisReader* reader_;
  std::string error_;
};

}  // namespace chat::server::redis
