#pragma once
// The table of every ServerConfig setting: its TOML table and key, its help text and its member.
// The config file loader, the command line and --print-config all walk this one table.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config.hpp"

namespace chat::server {

using SettingMember = std::variant<std::string ServerConfig::*, std::uint32_t ServerConfig::*,
                                   double ServerConfig::*>;

struct Setting {
  std::string_view table;
  std::string_view key;
  std::string_view help;
  SettingMember member;
};

std::span<const Setting> all_settings();

// "--max-text-bytes" for key "max_text_bytes".
std::string flag_name(const Setting& setting);

}  // namespace chat::server
