#pragma once
// The web_origins setting: a comma- or space-separated list of origins (scheme://host[:port])
// whose pages may open a WebSocket. Parsed by the web listener, validated by the configuration.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

// The list's origins, each without a trailing '/'.
std::vector<std::string> parse_origin_list(std::string_view list);
// The first origin of the list that is not http://HOST[:PORT] or https://HOST[:PORT].
std::optional<std::string> first_bad_origin(std::string_view list);

}  // namespace chat
