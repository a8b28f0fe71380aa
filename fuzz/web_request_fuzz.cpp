// libFuzzer target for what the web listener answers to a request: any bytes the HTTP parser
// takes as a whole head go through the router (files, errors, the WebSocket handshake's checks),
// which must answer with a status it documents and a complete head, and upgrade only with 101.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "http_request.hpp"
#include "web_assets.hpp"
#include "web_router.hpp"

namespace {

const chat::server::EmbeddedFile files[] = {{"/index.html", "<!doctype html>"}};

bool documented(int status) {
  for (int known : {101, 200, 304, 400, 403, 404, 405, 426})
    if (status == known) return true;
  return false;
}

}  // namespace

// The fuzzer's stand-in for the files a build embeds (cmake/EmbedFiles.cmake).
std::span<const chat::server::EmbeddedFile> chat::server::embedded_web_files() { return files; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const chat::server::WebAssets assets(files);
  static const chat::server::WebRouter router(
      assets, chat::server::OriginPolicy{.allowed = {}, .tls = (size % 2) == 1});
  chat::server::HttpRequestParser parser;
  parser.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  if (parser.status() != chat::server::HttpParseStatus::complete) return 0;
  const chat::server::WebAnswer answer = router.answer(parser.request());
  if (!documented(answer.status)) std::abort();
  if (answer.upgrade.has_value() != (answer.status == 101)) std::abort();
  if (!answer.head.starts_with("HTTP/1.1 ") || !answer.head.ends_with("\r\n\r\n")) std::abort();
  if (answer.head.find("\r\n\r\n") != answer.head.size() - 4) std::abort();  // no header injected
  return 0;
}
