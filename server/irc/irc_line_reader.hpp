#pragma once
// Splits a client's byte stream into IRC lines, free of I/O. A line ends in LF (a CR before it is
// dropped); its tags may take up to 8191 bytes and the rest up to 510 (512 with CR LF), as the
// IRCv3 message-tags specification allows. A longer line is reported as too long and skipped up
// to its end, so the next line is read as usual; the buffer never grows past one longest line.

#include <cstddef>
#include <string>
#include <string_view>

namespace chat::server::irc {

inline constexpr std::size_t max_tags_bytes = 8191;  // "@tags " included
inline constexpr std::size_t max_body_bytes = 510;   // source, command, params; without CR LF

class LineReader {
 public:
  enum class Status { need_more, line, too_long };

  void feed(std::string_view bytes);
  // The next line (valid until the next call), or need_more, or too_long for a line skipped.
  Status next(std::string_view& line);
  void release_if_idle();
  std::size_t buffered_bytes() const { return buffer_.size() - begin_; }

 private:
  // True when the line's tags and body are within their limits.
  static bool within_limits(std::string_view line);

  std::string buffer_;
  std::size_t begin_ = 0;
  bool skipping_ = false;  // inside a too-long line: dropped up to its LF
};

}  // namespace chat::server::irc
