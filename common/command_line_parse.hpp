#pragma once
// Parses a CLI11 command line the way every chat program does: --help prints the help and exits 0;
// a bad flag is one line on err ("program: what (see --help)") and exit 2. Header-only, so that
// only the programs that use CLI11 include it.

#include <CLI/CLI.hpp>
#include <optional>
#include <ostream>
#include <string_view>

namespace chat {

// nullopt when parsing succeeded; otherwise the exit code.
inline std::optional<int> parse_or_exit_code(CLI::App& app, int argc, const char* const* argv,
                                             std::ostream& out, std::ostream& err,
                                             std::string_view program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << program << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace chat
