#include "origin_list.hpp"

#include <algorithm>

namespace chat {

std::vector<std::string> parse_origin_list(std::string_view list) {
  std::vector<std::string> origins;
  std::size_t at = 0;
  while (at < list.size()) {
    const auto end = std::min(list.find_first_of(", ", at), list.size());
    std::string_view origin = list.substr(at, end - at);
    if (!origin.empty() && origin.back() == '/') origin.remove_suffix(1);
    if (!origin.empty()) origins.emplace_back(origin);
    at = end + 1;
  }
  return origins;
}

std::optional<std::string> first_bad_origin(std::string_view list) {
  for (const std::string& origin : parse_origin_list(list)) {
    std::string_view rest = origin;
    if (rest.starts_with("https://"))
      rest.remove_prefix(8);
    else if (rest.starts_with("http://"))
      rest.remove_prefix(7);
    else
      return origin;
    if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) return origin;
  }
  return std::nullopt;
}

}  // namespace chat
