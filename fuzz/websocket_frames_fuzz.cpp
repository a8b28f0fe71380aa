// libFuzzer target for the WebSocket decoder: any bytes, split into reads anywhere, must give the
// same messages and the same outcome (need_more, or an error with its close code) as one read, no
// message may exceed the maximum, and a text message must be UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "utf8.hpp"
#include "websocket_frames.hpp"

namespace {

constexpr std::size_t max_message = 4096;

struct Outcome {
  std::vector<std::string> messages;
  chat::websocket::DecodeStatus last = chat::websocket::DecodeStatus::need_more;
  chat::websocket::CloseCode code = chat::websocket::CloseCode::normal;
};

void drain(chat::websocket::Decoder& decoder, Outcome& outcome) {
  chat::websocket::Message message;
  for (;;) {
    outcome.last = decoder.next(message);
    if (outcome.last != chat::websocket::DecodeStatus::message) break;
    if (message.payload.size() > max_message) std::abort();
    if (message.opcode == chat::websocket::Opcode::text && !chat::utf8::is_valid(message.payload))
      std::abort();
    outcome.messages.emplace_back(1, static_cast<char>(message.opcode));
    outcome.messages.back().append(message.payload);
  }
  if (outcome.last == chat::websocket::DecodeStatus::error) outcome.code = decoder.error_code();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  Outcome whole;
  chat::websocket::Decoder one(max_message);
  one.feed(input);
  drain(one, whole);

  Outcome pieces;
  chat::websocket::Decoder many(max_message);
  for (std::size_t at = 0; at < input.size(); at += split + 1) {
    many.feed(input.substr(at, split + 1));
    drain(many, pieces);
  }
  if (whole.messages != pieces.messages || whole.last != pieces.last || whole.code != pieces.code)
    std::abort();
  return 0;
}
