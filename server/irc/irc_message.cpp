#include "irc_message.hpp"

#include <algorithm>

namespace chat::server::irc {
namespace {

std::string unescape_tag_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\') {
      out += value[i];
      continue;
    }
    if (++i == value.size()) break;  // a lone '\' at the end is dropped
    switch (value[i]) {
      case ':':
        out += ';';
        break;
      case 's':
        out += ' ';
        break;
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      default:
        out += value[i];  // "\\" and any other escaped character stand for themselves
    }
  }
  return out;
}

void parse_tags(std::string_view text, Message& message) {
  while (!text.empty()) {
    const auto semicolon = text.find(';');
    const std::string_view tag = text.substr(0, semicolon);
    if (!tag.empty()) {
      const auto equals = tag.find('=');
      std::string name(tag.substr(0, equals));
      std::string value =
          equals == std::string_view::npos ? "" : unescape_tag_value(tag.substr(equals + 1));
      message.tags.emplace_back(std::move(name), std::move(value));
    }
    if (semicolon == std::string_view::npos) break;
    text.remove_prefix(semicolon + 1);
  }
}

// The next space-separated word of rest (rest keeps what follows, its leading spaces skipped).
std::string_view next_word(std::string_view& rest) {
  const auto space = rest.find(' ');
  const std::string_view word = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return word;
}

}  // namespace

std::string with_tag(std::string_view lines, std::string_view tag) {
  const bool batch = tag.substr(0, 6) == "batch=";
  std::string out;
  out.reserve(lines.size() + tag.size() + 4);
  while (!lines.empty()) {
    const auto end = lines.find('\n');
    const std::string_view line = lines.substr(0, end == std::string_view::npos ? end : end + 1);
    lines.remove_prefix(line.size());
    if (line.empty() || line[0] != '@') {
      out.append("@").append(tag).append(" ").append(line);
      continue;
    }
    const std::string_view tags = line.substr(1, line.find(' ') - 1);
    const bool in_batch =
        tags.substr(0, 6) == "batch=" || tags.find(";batch=") != std::string_view::npos;
    if (batch && in_batch) {
      out.append(line);
      continue;
    }
    out.append("@").append(tag).append(";").append(line.substr(1));
  }
  return out;
}

const std::string* Message::tag(std::string_view name) const {
  for (const auto& [key, value] : tags)
    if (key == name) return &value;
  return nullptr;
}

const std::string& Message::param(std::size_t i) const {
  static const std::string none;
  return i < params.size() ? params[i] : none;
}

std::optional<Message> parse_message(std::string_view line) {
  Message message;
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (!line.empty() && line.front() == '@') {
    line.remove_prefix(1);
    parse_tags(next_word(line), message);
  }
  if (!line.empty() && line.front() == ':') {
    line.remove_prefix(1);
    message.source = next_word(line);
  }
  const std::string_view command = next_word(line);
  if (command.empty()) return std::nullopt;
  message.command.assign(command);
  std::transform(message.command.begin(), message.command.end(), message.command.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  while (!line.empty()) {
    if (line.front() == ':') {
      message.params.emplace_back(line.substr(1));
      break;
    }
    message.params.emplace_back(next_word(line));
  }
  return message;
}

std::string escape_tag_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case ';':
        out += "\\:";
        break;
      case ' ':
        out += "\\s";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

LineBuilder::LineBuilder(std::string& out, std::string_view source, std::string_view command)
    : out_(out) {
  if (!source.empty()) {
    out_ += ':';
    out_ += source;
    out_ += ' ';
  }
  out_ += command;
}

LineBuilder& LineBuilder::param(std::string_view value) {
  out_ += ' ';
  out_ += value;
  return *this;
}

void LineBuilder::trailing(std::string_view value) {
  out_ += " :";
  out_ += value;
  end();
}

void LineBuilder::end() { out_ += "\r\n"; }

}  // namespace chat::server::irc
