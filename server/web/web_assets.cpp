#include "web_assets.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <utility>

namespace chat::server {
namespace {

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

std::string content_type_of(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [extension, type] : types)
    if (ends_with(path, extension)) return std::string(type);
  return "application/octet-stream";
}

WebAssets::WebAssets(std::span<const EmbeddedFile> files) {
  assets_.reserve(files.size());
  for (const EmbeddedFile& file : files) {
    assets_.push_back({.path = std::string(file.path),
                       .content_type = content_type_of(file.path),
                       .etag = fmt::format("\"{:016x}\"", fnv1a(file.bytes)),
                       .body = file.bytes});
  }
}

const WebAssets& WebAssets::embedded() {
  static const WebAssets assets(embedded_web_files());
  return assets;
}

const WebAsset* WebAssets::find(std::string_view path) const {
  if (path == "/") path = "/index.html";
  for (const WebAsset& asset : assets_)
    if (asset.path == path) return &asset;
  return nullptr;
}

}  // namespace chat::server
