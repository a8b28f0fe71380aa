#pragma once
// IRC messages, free of I/O: one line parsed into tags, source, command and parameters
// (modern.ircdocs.horse "Messages", IRCv3 message-tags), and lines built for the client with
// the trailing parameter and tag values escaped as the specifications say.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat::server::irc {

struct Message {
  std::vector<std::pair<std::string, std::string>> tags;  // unescaped values
  std::string source;                                     // without the ':'
  std::string command;                                    // upper-cased
  std::vector<std::string> params;                        // the trailing one included

  // The tag's value, or nullptr when the message has no such tag.
  const std::string* tag(std::string_view name) const;
  const std::string& param(std::size_t i) const;  // "" past the end
};

// Parses one line (without its CR LF). nullopt when it holds no command.
std::optional<Message> parse_message(std::string_view line);

// How many bytes of text fit in max, not cutting a UTF-8 character.
inline std::size_t utf8_cut(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text.size();
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut == 0 ? max : cut;
}

// "+ID" or "-ID": the first parameter of BATCH, opening or closing the batch ID.
inline std::string batch_marker(char sign, std::string_view id) {
  std::string marker(1, sign);
  marker += id;
  return marker;
}

// The lines with one more tag ("name=value", escaped) each; a batch tag is not added to a line
// that is in a batch already (a nested batch's lines).
std::string with_tag(std::string_view lines, std::string_view tag);

// A tag value escaped for the wire (';' '\' ' ' CR LF).
std::string escape_tag_value(std::string_view value);

// Builds ":source COMMAND p1 p2 :last\r\n" into out: param() for the middle parameters (no
// spaces, not empty, no leading ':'), then trailing() for a last one that may be anything, or
// end().
class LineBuilder {
 public:
  LineBuilder(std::string& out, std::string_view source, std::string_view command);
  LineBuilder& param(std::string_view value);
  void trailing(std::string_view value);
  void end();

 private:
  std::string& out_;
};

}  // namespace chat::server::irc
