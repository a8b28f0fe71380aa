#pragma once
// The files of web/, built into the binary by cmake/EmbedFiles.cmake.

#include <span>
#include <string_view>

namespace chat::server {

struct EmbeddedFile {
  std::string_view path;  // "/index.html"
  std::string_view bytes;
};

std::span<const EmbeddedFile> embedded_web_files();

}  // namespace chat::server
