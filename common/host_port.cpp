#include "host_port.hpp"

#include <charconv>

namespace chat {

std::optional<HostPort> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return {};
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return {};
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data() + colon + 1, end, port);
  if (ec != std::errc() || ptr != end || port > 65535) return {};
  return HostPort{std::string(host), static_cast<std::uint16_t>(port)};
}

std::optional<std::vector<HostPort>> parse_host_port_list(std::string_view text) {
  std::vector<HostPort> list;
  while (true) {
    const auto comma = text.find(',');
    auto one = parse_host_port(text.substr(0, comma));
    if (!one) return {};
    list.push_back(std::move(*one));
    if (comma == std::string_view::npos) return list;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace chat
