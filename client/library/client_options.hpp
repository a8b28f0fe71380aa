#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "framing.hpp"
#include "reconnect_backoff.hpp"

namespace chat::client {

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7777;
  std::string nick;
  std::string password;  // for a registered nick
  std::string client_name = "chat-client";
  // First connection: how many attempts before connect() gives up; 0 = until it succeeds.
  int connect_attempts = 1;
  // After a connection is lost: reconnect with backoff and resume (false: close).
  bool reconnect = true;
  BackoffOptions backoff;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::size_t max_frame_bytes = 1024 * 1024;
  // TLS: the server's certificate must be valid for host (a name or an IP address) and signed by a
  // CA in ca_file (empty: the system's trusted CAs), unless verify is off (--insecure).
  bool tls = false;
  std::string ca_file;
  bool verify = true;
};

}  // namespace chat::client
