#include "framing.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/message_lite.h>

#include <algorithm>
#include <cstring>

namespace chat {
namespace {

std::size_t write_varint32(std::uint32_t value, std::uint8_t* out) {
  std::size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<std::uint8_t>(value | 0x80);
    value >>= 7;
  }
  out[n++] = static_cast<std::uint8_t>(value);
  return n;
}

}  // namespace

void append_frame(std::string& out, const google::protobuf::MessageLite& message) {
  const std::size_t body = message.ByteSizeLong();
  std::uint8_t prefix[max_varint32_bytes];
  const std::size_t prefix_len = write_varint32(static_cast<std::uint32_t>(body), prefix);
  const std::size_t old_size = out.size();
  out.resize(old_size + prefix_len + body);
  auto* dest = reinterpret_cast<std::uint8_t*>(out.data() + old_size);
  std::memcpy(dest, prefix, prefix_len);
  message.SerializeWithCachedSizesToArray(dest + prefix_len);
}

SharedFrame encode_frame(const google::protobuf::MessageLite& message, FramePriority priority) {
  auto frame = std::make_shared<EncodedFrame>();
  append_frame(frame->bytes, message);
  frame->priority = priority;
  return frame;
}

SharedFrame wire_ready_frame(std::string bytes) {
  auto frame = std::make_shared<EncodedFrame>();
  frame->bytes = std::move(bytes);
  frame->wire_ready = true;
  return frame;
}

std::string_view frame_body(const EncodedFrame& frame) {
  std::uint32_t length = 0;
  const int prefix = read_varint32(frame.bytes, length);
  if (prefix <= 0) return {};
  return std::string_view(frame.bytes).substr(static_cast<std::size_t>(prefix));
}

SharedFrame encode_chat_frame(const google::protobuf::MessageLite& message, std::string room,
                              std::uint64_t seq) {
  auto frame = std::make_shared<EncodedFrame>();
  append_frame(frame->bytes, message);
  frame->priority = FramePriority::chat;
  frame->room = std::move(room);
  frame->seq = seq;
  return frame;
}

std::string_view describe(DecodeError error) {
  switch (error) {
    case DecodeError::none:
      return "no error";
    case DecodeError::frame_too_large:
      return "frame length above the maximum frame size";
    case DecodeError::malformed_length:
      return "malformed varint32 length prefix";
    case DecodeError::unparsable_frame:
      return "frame is not a valid message";
  }
  return "unknown decode error";
}

int read_varint32(std::string_view bytes, std::uint32_t& value) {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < max_varint32_bytes; ++i) {
    if (i == bytes.size()) return 0;
    const auto byte = static_cast<std::uint8_t>(bytes[i]);
    result |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (result > 0xffffffffULL) return -1;
      value = static_cast<std::uint32_t>(result);
      return static_cast<int>(i + 1);
    }
  }
  return -1;
}

FrameDecoder::FrameDecoder(std::size_t max_frame_bytes, std::size_t read_chunk_bytes)
    : max_frame_bytes_(max_frame_bytes),
      read_chunk_bytes_(std::max<std::size_t>(read_chunk_bytes, 1)) {}

void FrameDecoder::make_room(std::size_t min_free) {
  if (buffer_.size() - end_ >= min_free) return;
  // Slide the unconsumed tail to the front before growing.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < min_free) buffer_.resize(end_ + min_free);
}

std::span<char> FrameDecoder::prepare() {
  make_room(read_chunk_bytes_);
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void FrameDecoder::commit(std::size_t n) { end_ += std::min(n, buffer_.size() - end_); }

void FrameDecoder::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  make_room(bytes.size());
  std::memcpy(buffer_.data() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

void FrameDecoder::release_if_idle(std::size_t keep_bytes) {
  if (begin_ == end_ && buffer_.size() > keep_bytes) {
    std::vector<char>().swap(buffer_);
    begin_ = end_ = 0;
  }
}

DecodeStatus FrameDecoder::next_payload(std::string_view& payload) {
  if (error_ != DecodeError::none) return DecodeStatus::error;
  const std::string_view pending(buffer_.data() + begin_, end_ - begin_);
  std::uint32_t length = 0;
  const int prefix = read_varint32(pending, length);
  if (prefix < 0) {
    error_ = DecodeError::malformed_length;
    return DecodeStatus::error;
  }
  if (prefix == 0) return DecodeStatus::need_more;
  if (length > max_frame_bytes_) {
    error_ = DecodeError::frame_too_large;
    return DecodeStatus::error;
  }
  const std::size_t total = static_cast<std::size_t>(prefix) + length;
  if (pending.size() < total) {
    make_room(total - pending.size());  // bounded: length <= max_frame_bytes_
    return DecodeStatus::need_more;
  }
  payload = pending.substr(static_cast<std::size_t>(prefix), length);
  begin_ += total;
  if (begin_ == end_) begin_ = end_ = 0;
  return DecodeStatus::frame;
}

DecodeStatus FrameDecoder::next(google::protobuf::MessageLite& message) {
  std::string_view payload;
  const DecodeStatus status = next_payload(payload);
  if (status != DecodeStatus::frame) return status;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    error_ = DecodeError::unparsable_frame;
    return DecodeStatus::error;
  }
  return DecodeStatus::frame;
}

}  // namespace chat
