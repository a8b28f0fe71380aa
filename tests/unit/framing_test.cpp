#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "chat.pb.h"
#include "framing.hpp"
#include "support/varint.hpp"

using chat::DecodeError;
using chat::DecodeStatus;
using chat::FrameDecoder;

namespace {

chat::v1::ClientFrame make_send(std::uint64_t id, const std::string& text) {
  chat::v1::ClientFrame frame;
  frame.set_request_id(id);
  frame.mutable_send()->set_room("lobby");
  frame.mutable_send()->set_text(text);
  return frame;
}

std::vector<chat::v1::ClientFrame> drain(FrameDecoder& decoder) {
  std::vector<chat::v1::ClientFrame> out;
  chat::v1::ClientFrame frame;
  while (decoder.next(frame) == DecodeStatus::frame) out.push_back(frame);
  return out;
}

using chat::test::varint;

}  // namespace

TEST_CASE("a stream of frames split at every byte boundary decodes to the same frames") {
  std::string stream;
  std::vector<chat::v1::ClientFrame> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(make_send(static_cast<std::uint64_t>(i + 1),
                             std::string(static_cast<std::size_t>(i * 70), 'x')));
    chat::append_frame(stream, sent.back());
  }
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    FrameDecoder decoder;
    decoder.feed(std::string_view(stream).substr(0, split));
    auto got = drain(decoder);
    decoder.feed(std::string_view(stream).substr(split));
    auto rest = drain(decoder);
    got.insert(got.end(), rest.begin(), rest.end());
    REQUIRE(got.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i)
      CHECK(got[i].SerializeAsString() == sent[i].SerializeAsString());
    CHECK(decoder.buffered_bytes() == 0);
  }
}

TEST_CASE("one byte at a time through prepare and commit") {
  std::string stream;
  chat::append_frame(stream, make_send(7, "hello"));
  chat::append_frame(stream, make_send(8, "world"));
  FrameDecoder decoder(1024, 1);
  std::vector<chat::v1::ClientFrame> got;
  for (char c : stream) {
    auto space = decoder.prepare();
    REQUIRE(!space.empty());
    space[0] = c;
    decoder.commit(1);
    auto part = drain(decoder);
    got.insert(got.end(), part.begin(), part.end());
  }
  REQUIRE(got.size() == 2);
  CHECK(got[0].send().text() == "hello");
  CHECK(got[1].request_id() == 8);
}

TEST_CASE("several frames in one read") {
  std::string stream;
  for (int i = 0; i < 100; ++i)
    chat::append_frame(stream, make_send(static_cast<std::uint64_t>(i), "m"));
  FrameDecoder decoder;
  decoder.feed(stream);
  auto got = drain(decoder);
  REQUIRE(got.size() == 100);
  CHECK(got[99].request_id() == 99);
}

TEST_CASE("a frame of exactly the maximum size is accepted, one byte more is refused") {
  chat::v1::ClientFrame frame = make_send(1, "");
  const std::size_t base = frame.ByteSizeLong();
  const std::size_t max = 1000;
  // Grow the text until the body is exactly max bytes (the text length varint may grow too).
  std::string text(max - base - 1, 'a');
  frame.mutable_send()->set_text(text);
  while (frame.ByteSizeLong() > max) {
    text.pop_back();
    frame.mutable_send()->set_text(text);
  }
  REQUIRE(frame.ByteSizeLong() == max);

  FrameDecoder ok(max);
  ok.feed(chat::encode_frame(frame)->bytes);
  chat::v1::ClientFrame decoded;
  CHECK(ok.next(decoded) == DecodeStatus::frame);

  text.push_back('a');
  frame.mutable_send()->set_text(text);
  REQUIRE(frame.ByteSizeLong() == max + 1);
  FrameDecoder too_big(max);
  const std::string bytes = chat::encode_frame(frame)->bytes;
  too_big.feed(std::string_view(bytes).substr(0, 3));  // the prefix alone decides
  CHECK(too_big.next(decoded) == DecodeStatus::error);
  CHECK(too_big.error() == DecodeError::frame_too_large);
}

TEST_CASE("a huge length prefix is refused before any allocation") {
  FrameDecoder decoder(64 * 1024, 16);
  decoder.feed(varint(0xffffffffULL));
  chat::v1::ClientFrame frame;
  CHECK(decoder.next(frame) == DecodeStatus::error);
  CHECK(decoder.error() == DecodeError::frame_too_large);
  CHECK(decoder.prepare().size() < 1024);  // the buffer never grew toward the named length
}

TEST_CASE("malformed varints are refused") {
  chat::v1::ClientFrame frame;
  SUBCASE("six continuation bytes") {
    FrameDecoder decoder;
    decoder.feed("\xff\xff\xff\xff\xff\x01");
    CHECK(decoder.next(frame) == DecodeStatus::error);
    CHECK(decoder.error() == DecodeError::malformed_length);
  }
  SUBCASE("five bytes but above 32 bits") {
    FrameDecoder decoder;
    decoder.feed("\xff\xff\xff\xff\x7f");
    CHECK(decoder.next(frame) == DecodeStatus::error);
    CHECK(decoder.error() == DecodeError::malformed_length);
  }
  SUBCASE("a truncated varint just waits for more") {
    FrameDecoder decoder;
    decoder.feed("\xff\xff");
    CHECK(decoder.next(frame) == DecodeStatus::need_more);
  }
}

TEST_CASE("a frame that does not parse is an error, and the error sticks") {
  FrameDecoder decoder;
  std::string bad = varint(3) + "\x0f\xff\xff";  // field 1 with invalid wire type 7
  decoder.feed(bad);
  chat::v1::ClientFrame frame;
  CHECK(decoder.next(frame) == DecodeStatus::error);
  CHECK(decoder.error() == DecodeError::unparsable_frame);
  decoder.feed(chat::encode_frame(make_send(1, "ok"))->bytes);
  CHECK(decoder.next(frame) == DecodeStatus::error);
  CHECK(chat::describe(decoder.error()).find("not a valid message") != std::string_view::npos);
}

TEST_CASE("a truncated frame waits for more and yields nothing") {
  const std::string bytes = chat::encode_frame(make_send(1, "truncated"))->bytes;
  FrameDecoder decoder;
  decoder.feed(std::string_view(bytes).substr(0, bytes.size() - 1));
  chat::v1::ClientFrame frame;
  CHECK(decoder.next(frame) == DecodeStatus::need_more);
  CHECK(decoder.buffered_bytes() == bytes.size() - 1);
}

TEST_CASE("random garbage never crashes and never yields more than it was fed") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    FrameDecoder decoder(4096, 64);
    std::string junk(rng() % 512, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    std::size_t at = 0;
    int frames = 0;
    while (at < junk.size()) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 40, junk.size() - at);
      decoder.feed(std::string_view(junk).substr(at, n));
      at += n;
      chat::v1::ClientFrame frame;
      DecodeStatus status;
      while ((status = decoder.next(frame)) == DecodeStatus::frame) ++frames;
      if (status == DecodeStatus::error) break;
    }
    CHECK(frames <= static_cast<int>(junk.size()));
  }
}

TEST_CASE("an encoded frame carries its priority and room position") {
  chat::v1::ServerFrame frame;
  frame.mutable_room_message()->set_room("lobby");
  auto chat_frame = chat::encode_chat_frame(frame, "lobby", 42);
  CHECK(chat_frame->priority == chat::FramePriority::chat);
  CHECK(chat_frame->seq == 42);
  FrameDecoder decoder;
  decoder.feed(chat_frame->bytes);
  chat::v1::ServerFrame decoded;
  REQUIRE(decoder.next(decoded) == DecodeStatus::frame);
  CHECK(decoded.room_message().room() == "lobby");
}
