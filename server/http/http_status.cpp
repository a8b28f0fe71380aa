#include "http_status.hpp"

#include <utility>

namespace chat::server {

std::string_view reason_phrase(int status) {
  static constexpr std::pair<int, std::string_view> phrases[] = {
      {101, "Switching Protocols"},
      {200, "OK"},
      {204, "No Content"},
      {304, "Not Modified"},
      {400, "Bad Request"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {414, "URI Too Long"},
      {426, "Upgrade Required"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
      {505, "HTTP Version Not Supported"},
  };
  for (const auto& [code, phrase] : phrases)
    if (code == status) return phrase;
  return "";
}

}  // namespace chat::server
