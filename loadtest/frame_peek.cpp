#include "frame_peek.hpp"

namespace chat::loadtest {
namespace {

constexpr std::uint32_t room_message_field = 20;  // ServerFrame.room_message

bool read_varint(std::string_view& in, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const auto byte = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Skips one field's value of the given wire type; false when malformed.
bool skip_field(std::string_view& in, std::uint32_t wire_type) {
  std::uint64_t value = 0;
  switch (wire_type) {
    case 0:
      return read_varint(in, value);
    case 1:
      if (in.size() < 8) return false;
      in.remove_prefix(8);
      return true;
    case 2:
      if (!read_varint(in, value) || value > in.size()) return false;
      in.remove_prefix(static_cast<std::size_t>(value));
      return true;
    case 5:
      if (in.size() < 4) return false;
      in.remove_prefix(4);
      return true;
    default:
      return false;
  }
}

bool read_length_delimited(std::string_view& in, std::string_view& out) {
  std::uint64_t length = 0;
  if (!read_varint(in, length) || length > in.size()) return false;
  out = in.substr(0, static_cast<std::size_t>(length));
  in.remove_prefix(static_cast<std::size_t>(length));
  return true;
}

}  // namespace

std::optional<PeekedMessage> peek_room_message(std::string_view frame_body) {
  std::string_view in = frame_body;
  std::string_view message;
  bool found = false;
  while (!in.empty()) {
    std::uint64_t tag = 0;
    if (!read_varint(in, tag)) return std::nullopt;
    const auto field = static_cast<std::uint32_t>(tag >> 3);
    const auto wire_type = static_cast<std::uint32_t>(tag & 7);
    if (field == room_message_field && wire_type == 2) {
      if (!read_length_delimited(in, message)) return std::nullopt;
      found = true;
    } else if (field >= 2 && field <= 32) {
      return std::nullopt;  // another payload case
    } else if (!skip_field(in, wire_type)) {
      return std::nullopt;
    }
  }
  if (!found) return std::nullopt;

  PeekedMessage peeked;
  while (!message.empty()) {
    std::uint64_t tag = 0;
    if (!read_varint(message, tag)) return std::nullopt;
    const auto field = static_cast<std::uint32_t>(tag >> 3);
    const auto wire_type = static_cast<std::uint32_t>(tag & 7);
    if (field == 1 && wire_type == 2) {
      if (!read_length_delimited(message, peeked.room)) return std::nullopt;
    } else if (field == 2 && wire_type == 0) {
      if (!read_varint(message, peeked.seq)) return std::nullopt;
    } else if (field == 4 && wire_type == 2) {
      if (!read_length_delimited(message, peeked.text)) return std::nullopt;
    } else if (!skip_field(message, wire_type)) {
      return std::nullopt;
    }
  }
  return peeked;
}

}  // namespace chat::loadtest
