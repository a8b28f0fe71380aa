#include "client_wire.hpp"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <cstring>

#include "framing.hpp"
#include "irc_lines.hpp"

namespace chat::loadtest {
namespace {

constexpr std::uint8_t opcode_binary = 0x2;
constexpr std::uint8_t opcode_close = 0x8;
constexpr std::uint8_t opcode_ping = 0x9;
constexpr std::uint8_t opcode_pong = 0xA;

bool contains_case_insensitive(std::string_view text, std::string_view word) {
  for (std::size_t at = 0; at + word.size() <= text.size(); ++at) {
    bool same = true;
    for (std::size_t i = 0; same && i < word.size(); ++i)
      same = std::tolower(static_cast<unsigned char>(text[at + i])) ==
             std::tolower(static_cast<unsigned char>(word[i]));
    if (same) return true;
  }
  return false;
}

}  // namespace

void ClientWire::append(std::string& out, const v1::ClientFrame& frame) {
  if (transport_ == Transport::tcp) {
    append_frame(out, frame);
    return;
  }
  if (transport_ == Transport::irc) {
    append_irc_request(out, frame);
    return;
  }
  scratch_.clear();
  frame.AppendToString(&scratch_);
  append_masked(out, opcode_binary, scratch_);
}

void ClientWire::append_pong(std::string& out, std::string_view payload) {
  if (transport_ == Transport::irc) {
    append_irc_pong(out, payload);
    return;
  }
  append_masked(out, opcode_pong, payload.substr(0, 125));
}

std::uint32_t ClientWire::next_mask() {
  // xorshift32: masks need not be secret here, only present (RFC 6455 requires them).
  mask_state_ ^= mask_state_ << 13;
  mask_state_ ^= mask_state_ >> 17;
  mask_state_ ^= mask_state_ << 5;
  return mask_state_;
}

void ClientWire::append_masked(std::string& out, std::uint8_t opcode, std::string_view payload) {
  out.push_back(static_cast<char>(0x80 | opcode));
  const std::size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xff));
  }
  const std::uint32_t mask = next_mask();
  std::array<char, 4> key{};
  std::memcpy(key.data(), &mask, 4);
  out.append(key.data(), 4);
  const std::size_t start = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < n; ++i) out[start + i] ^= key[i % 4];
}

UnitStatus ClientWire::next(std::string_view bytes, ServerUnit& unit, std::size_t& used) const {
  if (transport_ == Transport::tcp) {
    std::uint32_t length = 0;
    const int prefix = read_varint32(bytes, length);
    if (prefix == 0) return UnitStatus::need_more;
    if (prefix < 0 || length > max_server_frame) return UnitStatus::error;
    const std::size_t total = static_cast<std::size_t>(prefix) + length;
    if (bytes.size() < total) return UnitStatus::need_more;
    unit = {ServerUnit::Kind::frame, bytes.substr(static_cast<std::size_t>(prefix), length)};
    used = total;
    return UnitStatus::unit;
  }
  if (transport_ == Transport::irc) return next_line(bytes, unit, used);
  if (bytes.size() < 2) return UnitStatus::need_more;
  const auto first = static_cast<std::uint8_t>(bytes[0]);
  const auto second = static_cast<std::uint8_t>(bytes[1]);
  // The server never fragments, masks, or sets reserved bits.
  if ((first & 0x80) == 0 || (first & 0x70) != 0 || (second & 0x80) != 0) return UnitStatus::error;
  std::uint64_t length = second & 0x7f;
  std::size_t header = 2;
  if (length >= 126) {
    const std::size_t extra = length == 126 ? 2 : 8;
    if (bytes.size() < 2 + extra) return UnitStatus::need_more;
    length = 0;
    for (std::size_t i = 0; i < extra; ++i)
      length = (length << 8) | static_cast<std::uint8_t>(bytes[2 + i]);
    header += extra;
  }
  if (length > max_server_frame) return UnitStatus::error;
  if (bytes.size() < header + length) return UnitStatus::need_more;
  const std::uint8_t opcode = first & 0x0f;
  const auto kind = opcode == opcode_binary  ? ServerUnit::Kind::frame
                    : opcode == opcode_ping  ? ServerUnit::Kind::ping
                    : opcode == opcode_close ? ServerUnit::Kind::close
                                             : ServerUnit::Kind::other;
  unit = {kind, bytes.substr(header, static_cast<std::size_t>(length))};
  used = header + static_cast<std::size_t>(length);
  return UnitStatus::unit;
}

UnitStatus ClientWire::next_line(std::string_view bytes, ServerUnit& unit, std::size_t& used) {
  const auto end = bytes.find('\n');
  if (end == std::string_view::npos)
    return bytes.size() > max_irc_line ? UnitStatus::error : UnitStatus::need_more;
  if (end > max_irc_line) return UnitStatus::error;
  std::string_view line = bytes.substr(0, end);
  if (line.ends_with('\r')) line.remove_suffix(1);
  unit = {ServerUnit::Kind::line, line};
  used = end + 1;
  return UnitStatus::unit;
}

std::string ClientWire::upgrade_request(std::string_view host, std::uint16_t port) {
  std::array<unsigned char, 16> raw{};
  for (std::size_t i = 0; i < raw.size(); i += 4) {
    const std::uint32_t word = next_mask();
    std::memcpy(raw.data() + i, &word, 4);
  }
  std::array<unsigned char, 32> key{};
  const int n = EVP_EncodeBlock(key.data(), raw.data(), static_cast<int>(raw.size()));
  std::string request = "GET /ws HTTP/1.1\r\nHost: ";
  request.append(host).append(":").append(std::to_string(port));
  request +=
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: chat.v1\r\nSec-WebSocket-Key: ";
  request.append(reinterpret_cast<const char*>(key.data()), static_cast<std::size_t>(n));
  request += "\r\n\r\n";
  return request;
}

std::size_t ClientWire::upgrade_response(std::string_view bytes, bool& ok) {
  const auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  const std::string_view head = bytes.substr(0, end + 4);
  ok = head.starts_with("HTTP/1.1 101 ") &&
       contains_case_insensitive(head, "\r\nSec-WebSocket-Protocol: chat.v1\r\n");
  return head.size();
}

}  // namespace chat::loadtest
