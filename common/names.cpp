#include "names.hpp"

#include <algorithm>

#include "utf8.hpp"

namespace chat {
namespace {

// A byte of a name's key: ASCII letters folded to lower case. Unsigned, as std::string compares.
unsigned char key_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 'A' && byte <= 'Z' ? static_cast<unsigned char>(byte - 'A' + 'a') : byte;
}

bool is_ascii_name_char(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::u32string_view(U"_-.[]{}|^`").find(c) != std::u32string_view::npos;
}

// Non-ASCII characters that render invisibly or reorder text: refused so that two different nicks
// cannot look the same and a name cannot hide text direction tricks.
bool is_invisible_or_control(char32_t c) {
  return c < 0xa1 || c == 0xad || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
         (c >= 0x205f && c <= 0x206f) || c == 0x3000 || c == 0xfeff || (c >= 0xfff0 && c <= 0xffff);
}

NameProblem check_name(std::string_view name, bool allow_hash_prefix, bool allow_leading_digit,
                       bool allow_leading_brace) {
  if (name.empty()) return NameProblem::empty;
  if (name.size() > max_name_bytes) return NameProblem::too_long;
  std::size_t pos = 0;
  std::size_t count = 0;
  if (allow_hash_prefix && name.front() == '#') {
    ++pos;
    if (name.size() == 1) return NameProblem::empty;
  }
  const std::size_t first = pos;
  while (pos < name.size()) {
    const std::size_t at = pos;
    const auto cp = utf8::decode_one(name, pos);
    if (!cp) return NameProblem::invalid_utf8;
    if (++count > max_name_code_points) return NameProblem::too_long;
    const bool ok = *cp < 0x80 ? is_ascii_name_char(*cp) : !is_invisible_or_control(*cp);
    if (!ok) return NameProblem::bad_character;
    const bool bad_first = *cp == '-' || (!allow_leading_digit && *cp >= '0' && *cp <= '9') ||
                           (!allow_leading_brace && *cp == '}');
    if (at == first && bad_first) {
      return NameProblem::bad_first_character;
    }
  }
  return NameProblem::ok;
}

}  // namespace

std::string_view describe(NameProblem problem) {
  switch (problem) {
    case NameProblem::ok:
      return "ok";
    case NameProblem::empty:
      return "is empty";
    case NameProblem::too_long:
      return "is too long";
    case NameProblem::invalid_utf8:
      return "is not valid UTF-8";
    case NameProblem::bad_character:
      return "contains a character that is not allowed";
    case NameProblem::bad_first_character:
      return "starts with a character that is not allowed there";
  }
  return "is not valid";
}

NameProblem check_nick(std::string_view nick) { return check_name(nick, false, false, true); }

// A room's name is the hash tag of its Redis keys ("chat:r:{<room>}:log"): one led by '}' would
// make the tag empty and spread the room's keys over several cluster slots.
NameProblem check_room(std::string_view room) { return check_name(room, true, true, false); }

NameProblem check_text(std::string_view text, std::size_t max_bytes) {
  if (text.empty()) return NameProblem::empty;
  if (text.size() > max_bytes) return NameProblem::too_long;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto cp = utf8::decode_one(text, pos);
    if (!cp) return NameProblem::invalid_utf8;
    const bool control = *cp < 0x20 || *cp == 0x7f || (*cp >= 0x80 && *cp < 0xa0);
    if (control && *cp != '\t' && *cp != '\n') return NameProblem::bad_character;
  }
  return NameProblem::ok;
}

std::string name_key(std::string_view name) {
  std::string key(name);
  for (char& c : key) c = static_cast<char>(key_byte(c));
  return key;
}

bool name_key_less(std::string_view a, std::string_view b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return key_byte(x) < key_byte(y); });
}

}  // namespace chat
