#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "websocket_frames.hpp"

namespace ws = chat::websocket;
using ws::CloseCode;
using ws::DecodeStatus;
using ws::Opcode;

namespace {

// A frame as a client sends it: masked with a fixed key.
std::string client_frame(std::uint8_t first_byte, std::string_view payload, bool masked = true) {
  std::string frame(1, static_cast<char>(first_byte));
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      frame.push_back(static_cast<char>((std::uint64_t{payload.size()} >> shift) & 0xFF));
  }
  const std::uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) frame.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    frame.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  return frame;
}

std::string fin(Opcode opcode, std::string_view payload) {
  return client_frame(static_cast<std::uint8_t>(0x80 | static_cast<std::uint8_t>(opcode)), payload);
}

std::string fragment(Opcode opcode, std::string_view payload) {
  return client_frame(static_cast<std::uint8_t>(opcode), payload);
}

// Feeds bytes and expects an error with this code.
void expect_error(const std::string& bytes, CloseCode code, std::size_t max = 1024) {
  ws::Decoder decoder(max);
  decoder.feed(bytes);
  ws::Message message;
  DecodeStatus status = DecodeStatus::message;
  while (status == DecodeStatus::message) status = decoder.next(message);
  REQUIRE(status == DecodeStatus::error);
  CHECK(decoder.error_code() == code);
  CHECK_FALSE(decoder.error_reason().empty());
}

}  // namespace

TEST_CASE("websocket decoder: masked messages come out whole, split at any byte") {
  const std::string stream = fin(Opcode::text, "hello") +
                             fin(Opcode::binary, std::string(300, 'x')) + fin(Opcode::ping, "p");
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    ws::Decoder decoder(1024);
    std::vector<std::pair<Opcode, std::string>> got;
    ws::Message message;
    for (std::string_view part :
         {std::string_view(stream).substr(0, split), std::string_view(stream).substr(split)}) {
      decoder.feed(part);
      while (decoder.next(message) == DecodeStatus::message)
        got.emplace_back(message.opcode, std::string(message.payload));
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0] == std::pair{Opcode::text, std::string("hello")});
    CHECK(got[1] == std::pair{Opcode::binary, std::string(300, 'x')});
    CHECK(got[2] == std::pair{Opcode::ping, std::string("p")});
  }
}

TEST_CASE("websocket decoder: fragments are joined, with control frames between them") {
  ws::Decoder decoder(1024);
  decoder.feed(fragment(Opcode::text, "hel") + fin(Opcode::ping, "x") +
               fragment(Opcode::continuation, "l") + fin(Opcode::continuation, "o"));
  ws::Message message;
  REQUIRE(decoder.next(message) == DecodeStatus::message);
  CHECK(message.opcode == Opcode::ping);
  REQUIRE(decoder.next(message) == DecodeStatus::message);
  CHECK(message.opcode == Opcode::text);
  CHECK(message.payload == "hello");
  CHECK(decoder.next(message) == DecodeStatus::need_more);
}

TEST_CASE("websocket decoder: every broken rule is an error with its close code") {
  SUBCASE("unmasked client frame") {
    expect_error(client_frame(0x82, "abc", false), CloseCode::protocol_error);
  }
  SUBCASE("reserved bits") { expect_error(client_frame(0xC2, "abc"), CloseCode::protocol_error); }
  SUBCASE("unknown opcode") { expect_error(client_frame(0x83, "abc"), CloseCode::protocol_error); }
  SUBCASE("control frame over 125 bytes") {
    expect_error(fin(Opcode::ping, std::string(126, 'p')), CloseCode::protocol_error);
  }
  SUBCASE("fragmented control frame") {
    expect_error(fragment(Opcode::ping, "p"), CloseCode::protocol_error);
  }
  SUBCASE("continuation without a message") {
    expect_error(fin(Opcode::continuation, "x"), CloseCode::protocol_error);
  }
  SUBCASE("new message inside a fragmented one") {
    expect_error(fragment(Opcode::text, "a") + fin(Opcode::text, "b"), CloseCode::protocol_error);
  }
  SUBCASE("text that is not UTF-8") {
    expect_error(fin(Opcode::text, "\xC3\x28"), CloseCode::invalid_payload);
  }
  SUBCASE("UTF-8 split across fragments is fine, bad UTF-8 across them is not") {
    ws::Decoder decoder(64);
    decoder.feed(fragment(Opcode::text, "\xC3") + fin(Opcode::continuation, "\xA9"));
    ws::Message message;
    REQUIRE(decoder.next(message) == DecodeStatus::message);
    CHECK(message.payload == "\xC3\xA9");
    expect_error(fragment(Opcode::text, "\xC3") + fin(Opcode::continuation, "("),
                 CloseCode::invalid_payload);
  }
  SUBCASE("message over the maximum, before its payload arrives") {
    // Only the header: the decoder refuses it without waiting for (or buffering) the payload.
    std::string header = fin(Opcode::binary, std::string(70000, 'x')).substr(0, 14);
    expect_error(header, CloseCode::message_too_big, 1024);
  }
  SUBCASE("fragments that add up to over the maximum") {
    expect_error(fragment(Opcode::binary, std::string(600, 'a')) +
                     fin(Opcode::continuation, std::string(600, 'b')),
                 CloseCode::message_too_big, 1024);
  }
  SUBCASE("a 64-bit length with its top bit set") {
    std::string frame = "\x82\xFF\x80";
    frame.append(7, '\0');
    frame.append(4, 'k');
    expect_error(frame, CloseCode::protocol_error);
  }
  SUBCASE("a length not in its shortest form") {
    std::string frame = "\x82\xFE";
    frame.push_back('\0');
    frame.push_back('\x05');
    frame.append(4, 'k');
    frame.append(5, 'x');
    expect_error(frame, CloseCode::protocol_error);
  }
  SUBCASE("close frames: one byte, a code that may not be sent, a reason that is not UTF-8") {
    expect_error(fin(Opcode::close, "\x03"), CloseCode::protocol_error);
    expect_error(fin(Opcode::close, std::string("\x03\xED", 2)),
                 CloseCode::protocol_error);  // 1005
    expect_error(fin(Opcode::close, std::string("\x03\xE8\xC3\x28", 4)),
                 CloseCode::invalid_payload);
  }
}

TEST_CASE("websocket decoder: a truncated frame waits, and the error state sticks") {
  ws::Decoder decoder(1024);
  const std::string frame = fin(Opcode::binary, "abcdef");
  decoder.feed(frame.substr(0, frame.size() - 1));
  ws::Message message;
  CHECK(decoder.next(message) == DecodeStatus::need_more);
  decoder.feed(client_frame(0x82, "x", false));  // unmasked after the rest: still missing a byte
  decoder.feed(frame.substr(frame.size() - 1));
  REQUIRE(decoder.next(message) == DecodeStatus::message);
  CHECK(decoder.next(message) == DecodeStatus::error);
  decoder.feed(fin(Opcode::text, "ok"));
  CHECK(decoder.next(message) == DecodeStatus::error);
}

TEST_CASE("websocket encoder: headers in the shortest form, close reasons cut at a character") {
  std::string out;
  ws::append_header(out, Opcode::binary, 5);
  CHECK(out == std::string("\x82\x05", 2));
  out.clear();
  ws::append_header(out, Opcode::text, 300);
  CHECK(out == std::string("\x81\x7E\x01\x2C", 4));
  out.clear();
  ws::append_header(out, Opcode::binary, 70000);
  CHECK(out.size() == 10);
  CHECK(static_cast<unsigned char>(out[1]) == 127);

  const std::string reason(200, 'r');
  const std::string close = ws::close_frame(CloseCode::policy_violation, "\xC3\xA9" + reason);
  CHECK(close.size() == 2 + 125);
  CHECK(close.substr(2, 2) == "\x03\xF0");  // 1008
  ws::ClosePayload parsed;
  CloseCode error{};
  CHECK(ws::parse_close(close.substr(2), parsed, error));
  CHECK(parsed.code == 1008);
  CHECK(parsed.reason.size() == 123);

  // A reason whose 123rd byte is inside a character loses the whole character.
  const std::string accents =
      ws::close_frame(CloseCode::normal, std::string(122, 'a') + "\xC3\xA9");
  CHECK(accents.size() == 2 + 2 + 122);
}
