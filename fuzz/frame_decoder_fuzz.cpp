// libFuzzer target: arbitrary bytes, split into reads of fuzzer-chosen sizes, through the frame
// decoder and protobuf parsing of ClientFrame. Crashes, leaks and undefined behaviour are findings.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat.pb.h"
#include "framing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size < 2) return 0;
  // The first byte picks the maximum frame size, the second the read size.
  const std::size_t max_frame = 16 + static_cast<std::size_t>(data[0]) * 64;
  const std::size_t chunk = 1 + data[1];
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  chat::FrameDecoder decoder(max_frame, chunk);
  chat::v1::ClientFrame frame;
  for (std::size_t at = 0; at < input.size(); at += chunk) {
    decoder.feed(input.substr(at, chunk));
    chat::DecodeStatus status;
    while ((status = decoder.next(frame)) == chat::DecodeStatus::frame) {
      if (frame.ByteSizeLong() > max_frame * 2 + 64) __builtin_trap();  // cannot exceed its input
    }
    if (status == chat::DecodeStatus::error) break;
    if (decoder.buffered_bytes() > max_frame + chat::max_varint32_bytes + chunk) __builtin_trap();
  }
  return 0;
}
