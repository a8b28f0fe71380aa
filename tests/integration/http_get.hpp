#pragma once
// GET over HTTP with curl, a client that shares no code with the server.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "child_process.hpp"

namespace chat::test {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

inline HttpAnswer http_get(std::uint16_t port, const std::string& path) {
  ChildProcess curl({"/usr/bin/curl", "-sS", "--max-time", "10", "--write-out", "\n%{http_code}",
                     "http://127.0.0.1:" + std::to_string(port) + path});
  REQUIRE_MESSAGE(curl.wait_exit() == 0, curl.err());
  const std::string out = curl.out();
  const auto last_line = out.rfind('\n');
  REQUIRE(last_line != std::string::npos);
  return {std::stoi(out.substr(last_line + 1)), out.substr(0, last_line)};
}

}  // namespace chat::test
