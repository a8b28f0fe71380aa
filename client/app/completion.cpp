#include "completion.hpp"

#include "command.hpp"
#include "names.hpp"

namespace chat::client::app {
namespace {

bool starts_with_folded(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         name_key(text.substr(0, prefix.size())) == name_key(prefix);
}

void add_matches(std::vector<std::string>& out, const std::set<std::string>& names,
                 std::string_view word) {
  for (const std::string& name : names) {
    if (starts_with_folded(name, word)) out.push_back(name);
  }
}

}  // namespace

std::vector<std::string> complete_word(std::string_view line, std::size_t word_start,
                                       std::string_view word, const std::set<std::string>& nicks,
                                       const std::set<std::string>& rooms) {
  std::vector<std::string> matches;
  if (word_start == 0 && word.starts_with('/')) {
    for (const CommandInfo& info : command_list()) {
      if (info.name.starts_with(word)) matches.emplace_back(info.name);
    }
    return matches;
  }
  const std::string_view head = line.substr(0, word_start);
  const bool first_argument = head.find(' ') == head.size() - 1 && !head.empty();
  const bool wants_room =
      first_argument &&
      (head.starts_with("/join ") || head.starts_with("/leave ") || head.starts_with("/who "));
  add_matches(matches, wants_room ? rooms : nicks, word);
  return matches;
}

}  // namespace chat::client::app
