#include "websocket_frames.hpp"

#include <algorithm>
#include <cstring>

#include "utf8.hpp"

namespace chat::websocket {
namespace {

bool is_known(std::uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong:
      return true;
  }
  return false;
}

bool is_control(Opcode opcode) { return (static_cast<std::uint8_t>(opcode) & 0x8) != 0; }

// A code a peer may put in a close frame (RFC 6455 section 7.4).
bool may_be_sent(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
      return true;
    default:
      return false;
  }
}

void unmask(char* data, std::size_t size, const std::uint8_t (&mask)[4]) {
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(data[i] ^ mask[i % 4]);
}

// The longest prefix of text of at most max bytes that does not end inside a UTF-8 sequence.
std::string_view cut_utf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

Decoder::Decoder(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

void Decoder::feed(std::string_view bytes) {
  if (failed_) return;
  compact();
  input_.append(bytes);
}

void Decoder::compact() {
  if (begin_ == 0) return;
  input_.erase(0, begin_);
  begin_ = 0;
}

DecodeStatus Decoder::fail(CloseCode code, std::string reason) {
  failed_ = true;
  error_code_ = code;
  error_reason_ = std::move(reason);
  input_.clear();
  fragments_.clear();
  begin_ = 0;
  return DecodeStatus::error;
}

Decoder::HeaderStatus Decoder::read_header(std::string_view bytes, Header& header) {
  if (bytes.size() < 2) return HeaderStatus::need_more;
  const auto b0 = static_cast<std::uint8_t>(bytes[0]);
  const auto b1 = static_cast<std::uint8_t>(bytes[1]);
  if ((b0 & 0x70) != 0) {
    fail(CloseCode::protocol_error, "reserved bits set (no extension was negotiated)");
    return HeaderStatus::error;
  }
  if (!is_known(b0 & 0x0F)) {
    fail(CloseCode::protocol_error, "unknown opcode " + std::to_string(b0 & 0x0F));
    return HeaderStatus::error;
  }
  header.fin = (b0 & 0x80) != 0;
  header.opcode = static_cast<Opcode>(b0 & 0x0F);
  if ((b1 & 0x80) == 0) {
    fail(CloseCode::protocol_error, "client frames must be masked");
    return HeaderStatus::error;
  }
  const std::uint8_t length7 = b1 & 0x7F;
  if (is_control(header.opcode)) {
    if (!header.fin) {
      fail(CloseCode::protocol_error, "fragmented control frame");
      return HeaderStatus::error;
    }
    if (length7 > max_control_payload) {
      fail(CloseCode::protocol_error, "control frame over 125 bytes");
      return HeaderStatus::error;
    }
  }
  std::size_t size = 2;
  std::uint64_t length = length7;
  if (length7 == 126) {
    if (bytes.size() < 4) return HeaderStatus::need_more;
    length = (std::uint64_t{static_cast<std::uint8_t>(bytes[2])} << 8) |
             static_cast<std::uint8_t>(bytes[3]);
    size = 4;
    if (length < 126) {
      fail(CloseCode::protocol_error, "length not in its shortest form");
      return HeaderStatus::error;
    }
  } else if (length7 == 127) {
    if (bytes.size() < 10) return HeaderStatus::need_more;
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(bytes[i]);
    size = 10;
    if ((length >> 63) != 0) {
      fail(CloseCode::protocol_error, "length with its most significant bit set");
      return HeaderStatus::error;
    }
    if (length <= 0xFFFF) {
      fail(CloseCode::protocol_error, "length not in its shortest form");
      return HeaderStatus::error;
    }
  }
  header.length = length;
  if (!is_control(header.opcode)) {
    // Checked before a byte of the payload is buffered.
    const std::uint64_t so_far = in_fragmented_message_ ? fragments_.size() : 0;
    if (length > max_message_bytes_ || so_far + length > max_message_bytes_) {
      fail(CloseCode::message_too_big,
           "message over the maximum of " + std::to_string(max_message_bytes_) + " bytes");
      return HeaderStatus::error;
    }
  }
  if (bytes.size() < size + 4) return HeaderStatus::need_more;
  std::memcpy(header.mask, bytes.data() + size, 4);
  header.size = size + 4;
  return HeaderStatus::complete;
}

bool Decoder::check_sequence(const Header& header) {
  if (header.opcode == Opcode::continuation && !in_fragmented_message_) {
    fail(CloseCode::protocol_error, "continuation frame without a message to continue");
    return false;
  }
  if ((header.opcode == Opcode::text || header.opcode == Opcode::binary) &&
      in_fragmented_message_) {
    fail(CloseCode::protocol_error, "new message before the fragmented one ended");
    return false;
  }
  return true;
}

bool Decoder::check_message(Message& message) {
  if (message.opcode == Opcode::text && !utf8::is_valid(message.payload)) {
    fail(CloseCode::invalid_payload, "text message that is not valid UTF-8");
    return false;
  }
  if (message.opcode == Opcode::close) {
    ClosePayload close;
    CloseCode error = CloseCode::protocol_error;
    if (!parse_close(message.payload, close, error)) {
      fail(error, "malformed close frame");
      return false;
    }
  }
  return true;
}

DecodeStatus Decoder::next(Message& message) {
  if (failed_) return DecodeStatus::error;
  for (;;) {
    const std::string_view bytes = std::string_view(input_).substr(begin_);
    Header header;
    const HeaderStatus status = read_header(bytes, header);
    if (status == HeaderStatus::error) return DecodeStatus::error;
    if (status == HeaderStatus::need_more) return DecodeStatus::need_more;
    if (!check_sequence(header)) return DecodeStatus::error;
    if (bytes.size() - header.size < header.length) return DecodeStatus::need_more;

    const auto length = static_cast<std::size_t>(header.length);
    char* payload = input_.data() + begin_ + header.size;
    unmask(payload, length, header.mask);
    begin_ += header.size + length;

    if (is_control(header.opcode)) {
      message = {header.opcode, {payload, length}};
      return check_message(message) ? DecodeStatus::message : DecodeStatus::error;
    }
    if (header.fin && !in_fragmented_message_) {
      message = {header.opcode, {payload, length}};
      return check_message(message) ? DecodeStatus::message : DecodeStatus::error;
    }
    if (!in_fragmented_message_) {
      in_fragmented_message_ = true;
      fragmented_opcode_ = header.opcode;
      fragments_.clear();
    }
    fragments_.append(payload, length);
    if (!header.fin) continue;
    in_fragmented_message_ = false;
    message = {fragmented_opcode_, fragments_};
    return check_message(message) ? DecodeStatus::message : DecodeStatus::error;
  }
}

void Decoder::release_if_idle(std::size_t keep_bytes) {
  if (begin_ == input_.size()) {
    input_.clear();
    begin_ = 0;
    if (input_.capacity() > keep_bytes) std::string().swap(input_);
  }
  if (!in_fragmented_message_ && fragments_.capacity() > keep_bytes) std::string().swap(fragments_);
}

bool parse_close(std::string_view payload, ClosePayload& close, CloseCode& error) {
  close = {};
  if (payload.empty()) return true;
  error = CloseCode::protocol_error;
  if (payload.size() == 1) return false;
  close.code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                          static_cast<std::uint8_t>(payload[1]));
  if (!may_be_sent(close.code)) return false;
  close.reason = payload.substr(2);
  if (!utf8::is_valid(close.reason)) {
    error = CloseCode::invalid_payload;
    return false;
  }
  return true;
}

void append_header(std::string& out, Opcode opcode, std::size_t payload_bytes) {
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  if (payload_bytes < 126) {
    out.push_back(static_cast<char>(payload_bytes));
  } else if (payload_bytes <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(payload_bytes >> 8));
    out.push_back(static_cast<char>(payload_bytes & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<std::uint64_t>(payload_bytes) >> shift) & 0xFF));
  }
}

std::string control_frame(Opcode opcode, std::string_view payload) {
  payload = payload.substr(0, max_control_payload);
  std::string frame;
  append_header(frame, opcode, payload.size());
  frame.append(payload);
  return frame;
}

std::string close_frame(CloseCode code, std::string_view reason) {
  const auto value = static_cast<std::uint16_t>(code);
  std::string payload;
  payload.push_back(static_cast<char>(value >> 8));
  payload.push_back(static_cast<char>(value & 0xFF));
  payload.append(cut_utf8(reason, max_control_payload - 2));
  return control_frame(Opcode::close, payload);
}

}  // namespace chat::websocket
