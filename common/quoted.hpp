#pragma once
// A string in double quotes with quotes, backslashes and control characters escaped: valid both
// as a JSON string and as a TOML basic string.

#include <string>
#include <string_view>

namespace chat {

std::string quoted(std::string_view text);

}  // namespace chat
