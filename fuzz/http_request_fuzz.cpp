// libFuzzer target for the HTTP request parser of the metrics endpoint: any bytes, split into reads
// anywhere, must end in need_more, complete or an error status, and the result must not depend on
// where the reads were split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  chat::server::HttpRequestParser whole;
  whole.feed(input);
  chat::server::HttpRequestParser pieces;
  for (std::size_t at = 0; at < input.size(); at += split + 1)
    pieces.feed(input.substr(at, split + 1));

  if (whole.status() != pieces.status()) std::abort();
  if (whole.status() == chat::server::HttpParseStatus::error) {
    const int status = whole.error_status();
    if (status != 400 && status != 414 && status != 431 && status != 505) std::abort();
    if (pieces.error_status() != status) std::abort();
  }
  if (whole.status() == chat::server::HttpParseStatus::complete &&
      (whole.request().path != pieces.request().path ||
       whole.request().method != pieces.request().method))
    std::abort();
  return 0;
}
