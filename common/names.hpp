#pragma once
// Validation of everything a user names or writes: nicks, room names and message text. One place,
// used by the server, the client and the load test, so all three agree on what is valid.

#include <cstddef>
#include <string>
#include <string_view>

namespace chat {

inline constexpr std::size_t max_name_code_points = 32;
inline constexpr std::size_t max_name_bytes = 64;

// Why a name or text was refused; ok when it was not.
enum class NameProblem { ok, empty, too_long, invalid_utf8, bad_character, bad_first_character };

std::string_view describe(NameProblem problem);

// A nick: 1-32 code points of letters, digits, "_-.[]{}|^`" or non-ASCII printable characters;
// it may not start with a digit or '-'.
NameProblem check_nick(std::string_view nick);

// A room: like a nick, optionally led by '#'; it may start with a digit but not with '}'.
NameProblem check_room(std::string_view room);

// Message text: valid UTF-8 of at most max_bytes bytes, no control characters but tab and newline.
NameProblem check_text(std::string_view text, std::size_t max_bytes);

// The form under which two names count as the same (ASCII case folded); nicks and rooms are
// unique by this key.
std::string name_key(std::string_view name);
// name_key(a) < name_key(b), without building the keys.
bool name_key_less(std::string_view a, std::string_view b);

}  // namespace chat
