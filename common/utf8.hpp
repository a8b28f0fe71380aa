#pragma once
// UTF-8 decoding that rejects every ill-formed sequence (overlong forms, surrogates, > U+10FFFF).

#include <cstddef>
#include <optional>
#include <string_view>

namespace chat::utf8 {

// Decodes the code point at bytes[pos] and advances pos, or returns nullopt when it is ill-formed.
std::optional<char32_t> decode_one(std::string_view bytes, std::size_t& pos);

// True when every byte of text belongs to a well-formed UTF-8 sequence.
bool is_valid(std::string_view text);

}  // namespace chat::utf8
