#include "irc_line_reader.hpp"

namespace chat::server::irc {
namespace {

constexpr std::size_t max_line_bytes = max_tags_bytes + max_body_bytes + 2;

}  // namespace

void LineReader::feed(std::string_view bytes) {
  if (begin_ > 0 && begin_ == buffer_.size()) {
    buffer_.clear();
    begin_ = 0;
  }
  buffer_.append(bytes);
}

LineReader::Status LineReader::next(std::string_view& line) {
  for (;;) {
    const std::string_view rest = std::string_view(buffer_).substr(begin_);
    const auto lf = rest.find('\n');
    if (lf == std::string_view::npos) {
      if (rest.size() <= max_line_bytes) return Status::need_more;
      // No end in sight and already too long: drop what is here and the rest of the line.
      buffer_.clear();
      begin_ = 0;
      if (skipping_) return Status::need_more;
      skipping_ = true;
      return Status::too_long;
    }
    begin_ += lf + 1;
    std::string_view found = rest.substr(0, lf);
    if (!found.empty() && found.back() == '\r') found.remove_suffix(1);
    if (skipping_) {  // the end of a line reported already
      skipping_ = false;
      continue;
    }
    if (!within_limits(found)) return Status::too_long;
    if (found.empty()) continue;  // empty lines are ignored, as the specifications allow
    line = found;
    return Status::line;
  }
}

bool LineReader::within_limits(std::string_view line) {
  std::size_t tags = 0;
  if (!line.empty() && line.front() == '@') {
    const auto space = line.find(' ');
    tags = space == std::string_view::npos ? line.size() : space + 1;
    if (tags > max_tags_bytes) return false;
  }
  return line.size() - tags <= max_body_bytes;
}

void LineReader::release_if_idle() {
  if (begin_ < buffer_.size()) {
    if (begin_ > 0 && begin_ > buffer_.size() / 2) {
      buffer_.erase(0, begin_);
      begin_ = 0;
    }
    return;
  }
  begin_ = 0;
  std::string().swap(buffer_);  // an idle connection keeps no line buffer
}

}  // namespace chat::server::irc
