#pragma once
// What Tab offers: commands at the start of a line, rooms after /join, /leave and /who, nicks
// after /msg and anywhere else. Pure logic, so it is tested without a terminal.

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace chat::client::app {

// line: the whole input line; word_start: where the word being completed starts; word: its
// text so far. Matches are prefix matches, ignoring ASCII case, sorted.
std::vector<std::string> complete_word(std::string_view line, std::size_t word_start,
                                       std::string_view word, const std::set<std::string>& nicks,
                                       const std::set<std::string>& rooms);

}  // namespace chat::client::app
