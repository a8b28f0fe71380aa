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

}  // namespace chat
