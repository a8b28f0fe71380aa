#include "redis_reply.hpp"

#include <charconv>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <new>

namespace chat::server::redis {
namespace {

Reply convert(const redisReply& raw) {
  Reply reply;
  switch (raw.type) {
    case REDIS_REPLY_INTEGER:
      reply.type = Reply::Type::integer;
      reply.integer = raw.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      reply.type = raw.type == REDIS_REPLY_STRING   ? Reply::Type::string
                   : raw.type == REDIS_REPLY_STATUS ? Reply::Type::status
                                                    : Reply::Type::error;
      reply.text.assign(raw.str, raw.len);
      break;
    case REDIS_REPLY_ARRAY:
      reply.type = Reply::Type::array;
      reply.elements.reserve(raw.elements);
      for (std::size_t i = 0; i < raw.elements; ++i)
        reply.elements.push_back(convert(*raw.element[i]));
      break;
    default:
      reply.type = Reply::Type::nil;
  }
  return reply;
}

}  // namespace

std::uint64_t parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::uint64_t reply_number(const Reply& reply) {
  if (reply.type == Reply::Type::integer) return static_cast<std::uint64_t>(reply.integer);
  return parse_u64(reply.text);
}

std::string reply_failure(const Reply& reply) {
  return reply.is_error() ? reply.text : "unexpected reply from Redis: " + reply.describe();
}

std::string Reply::describe() const {
  switch (type) {
    case Type::nil:
      return "nil";
    case Type::integer:
      return "integer " + std::to_string(integer);
    case Type::string:
      return "string " + text;
    case Type::status:
      return "status " + text;
    case Type::error:
      return "error " + text;
    case Type::array:
      return "array of " + std::to_string(elements.size());
  }
  return "?";
}

std::string encode_command(const std::vector<std::string>& args) {
  CommandEncoder encoder;
  for (const std::string& arg : args) encoder.arg(arg);
  return std::move(encoder).finish();
}

CommandEncoder& CommandEncoder::arg(std::string_view text) { return arg(text, {}); }

CommandEncoder& CommandEncoder::arg(std::string_view first, std::string_view second) {
  body_ += '$';
  body_ += std::to_string(first.size() + second.size());
  body_ += "\r\n";
  body_ += first;
  body_ += second;
  body_ += "\r\n";
  ++count_;
  return *this;
}

std::string CommandEncoder::finish() && {
  std::string out;
  out.reserve(body_.size() + 16);
  out += '*';
  out += std::to_string(count_);
  out += "\r\n";
  out += body_;
  return out;
}

ReplyReader::ReplyReader() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

bool ReplyReader::feed(std::string_view bytes) {
  if (failed()) return false;
  if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK) {
    error_ = reader_->errstr[0] ? reader_->errstr : "cannot read the reply";
    return false;
  }
  return true;
}

std::optional<Reply> ReplyReader::next() {
  if (failed()) return std::nullopt;
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
    error_ = reader_->errstr[0] ? reader_->errstr : "protocol error in a reply";
    return std::nullopt;
  }
  if (!raw) return std::nullopt;
  Reply reply = convert(*static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return reply;
}

}  // namespace chat::server::redis
