#pragma once
// The ServerFrame inside one encoded frame, for tests that look at what an outbox or a client got.

#include <doctest/doctest.h>

#include "chat.pb.h"
#include "framing.hpp"

namespace chat::test {

inline v1::ServerFrame decode(const EncodedFrame& frame) {
  FrameDecoder decoder;
  decoder.feed(frame.bytes);
  v1::ServerFrame out;
  REQUIRE(decoder.next(out) == DecodeStatus::frame);
  return out;
}

}  // namespace chat::test
