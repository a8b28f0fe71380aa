#pragma once
// "HOST:PORT" and "[V6]:PORT", as the server's listen address and the clients' --server take them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// nullopt when malformed (no colon, no host, a port that is not 0-65535).
std::optional<HostPort> parse_host_port(std::string_view text);
// "HOST:PORT,HOST:PORT,...": nullopt when empty or any one is malformed.
std::optional<std::vector<HostPort>> parse_host_port_list(std::string_view text);

}  // namespace chat
