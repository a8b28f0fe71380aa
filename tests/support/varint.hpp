#pragma once
// Encodes a protobuf varint, for tests that write length prefixes by hand (also invalid ones).

#include <cstdint>
#include <string>

namespace chat::test {

inline std::string varint(std::uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

}  // namespace chat::test
