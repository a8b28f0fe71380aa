#pragma once
// The browser client's files as the web listener serves them: "/" is index.html, each file has its
// content type and an ETag (a hash of its bytes, so a new build invalidates what browsers cached).

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embedded_files.hpp"

namespace chat::server {

struct WebAsset {
  std::string path;
  std::string content_type;
  std::string etag;  // quoted, as the header carries it
  std::string_view body;
};

class WebAssets {
 public:
  explicit WebAssets(std::span<const EmbeddedFile> files);
  // The files built into this binary.
  static const WebAssets& embedded();

  // The asset at a request path, or nullptr.
  const WebAsset* find(std::string_view path) const;

 private:
  std::vector<WebAsset> assets_;
};

// By the file name's extension; application/octet-stream when unknown.
std::string content_type_of(std::string_view path);

}  // namespace chat::server
