#include "command_line.hpp"

#include <CLI/CLI.hpp>

#include <ostream>

#include "settings.hpp"

namespace chat::server {
namespace {

void add_setting_flags(CLI::App& app, ServerConfig& config) {
  for (const Setting& setting : all_settings()) {
    std::visit(
        [&](auto member) {
          auto* option =
              app.add_option(flag_name(setting), config.*member, std::string(setting.help));
          option->capture_default_str()->group(std::string(setting.table));
        },
        setting.member);
  }
}

}  // namespace

std::variant<CommandLine, int> parse_command_line(int argc, const char* const* argv,
                                                  std::ostream& out, std::ostream& err) {
  CommandLine result;
  std::string check_path;
  CLI::App app{"chat-server: a sharded coroutine chat server", "chat-server"};
  app.option_defaults()->always_capture_default();
  app.add_option("--config", result.config_path,
                 "read settings from this TOML file (flags override it)")
      ->check(CLI::ExistingFile);
  app.add_option("--check-config", check_path, "validate a TOML config file and exit")
      ->check(CLI::ExistingFile);
  app.add_flag("--print-config", result.print_config,
               "print the effective configuration as TOML and exit");
  add_setting_flags(app, result.config);

  try {
    app.parse(argc, argv);
    if (!check_path.empty()) {
      ServerConfig scratch;
      if (auto problem = load_config_file(check_path, scratch)) {
        err << "chat-server: " << *problem << "\n";
        return 2;
      }
      out << "config " << check_path << ": ok\n";
      return 0;
    }
    if (result.config_path) {
      // The file sits between the defaults and the flags: load it, then parse the flags again.
      ServerConfig from_file;
      if (auto problem = load_config_file(*result.config_path, from_file)) {
        err << "chat-server: " << *problem << "\n";
        return 2;
      }
      result.config = from_file;
      app.parse(argc, argv);
    }
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "chat-server: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (auto problem = validate(result.config)) {
    err << "chat-server: " << *problem << "\n";
    return 2;
  }
  return result;
}

}  // namespace chat::server
