#include "config.hpp"

#include "quoted.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "logging.hpp"
#include "origin_list.hpp"
#include "settings.hpp"
#include "utf8.hpp"

namespace chat::server {
namespace {

// Reads one TOML value into one setting, or says why it cannot.
std::optional<std::string> assign(const toml::node& node, const SettingMember& member,
                                  ServerConfig& config) {
  return std::visit(
      [&](auto ptr) -> std::optional<std::string> {
        using T = std::remove_cvref_t<decltype(config.*ptr)>;
        if constexpr (std::is_same_v<T, std::string>) {
          const auto value = node.value_exact<std::string>();
          if (!value) return "expected a string";
          config.*ptr = *value;
        } else if constexpr (std::is_same_v<T, std::uint32_t>) {
          const auto value = node.value_exact<std::int64_t>();
          if (!value) return "expected an integer";
          if (*value < 0 || *value > std::numeric_limits<std::uint32_t>::max())
            return "out of range";
          config.*ptr = static_cast<std::uint32_t>(*value);
        } else {
          const auto value = node.value<double>();  // integers are fine for a double setting
          if (!value || !node.is_number()) return "expected a number";
          if (!std::isfinite(*value) || *value < 0) return "must be a finite number >= 0";
          config.*ptr = *value;
        }
        return std::nullopt;
      },
      member);
}

}  // namespace

std::optional<std::string> validate(const ServerConfig& c) {
  if (!c.listen.empty() && !parse_host_port(c.listen))
    return fmt::format("listen: '{}' is not HOST:PORT", c.listen);
  if (!c.tls_listen.empty() && !parse_host_port(c.tls_listen))
    return fmt::format("tls_listen: '{}' is not HOST:PORT", c.tls_listen);
  if (c.listen.empty() && c.tls_listen.empty()) return "listen: empty, and no tls_listen either";
  if (!c.tls_listen.empty() && (c.tls_cert.empty() || c.tls_key.empty()))
    return "tls_listen: needs tls_cert and tls_key";
  if (!c.web.empty() && !parse_host_port(c.web))
    return fmt::format("web: '{}' is not HOST:PORT", c.web);
  if (!c.irc_listen.empty() && !parse_host_port(c.irc_listen))
    return fmt::format("irc_listen: '{}' is not HOST:PORT", c.irc_listen);
  if (!c.irc_tls_listen.empty() && !parse_host_port(c.irc_tls_listen))
    return fmt::format("irc_tls_listen: '{}' is not HOST:PORT", c.irc_tls_listen);
  if (!c.irc_tls_listen.empty() && (c.tls_cert.empty() || c.tls_key.empty()))
    return "irc_tls_listen: needs tls_cert and tls_key";
  if (!c.web_tls_listen.empty() && !parse_host_port(c.web_tls_listen))
    return fmt::format("web_tls_listen: '{}' is not HOST:PORT", c.web_tls_listen);
  if (!c.web_tls_listen.empty() && (c.tls_cert.empty() || c.tls_key.empty()))
    return "web_tls_listen: needs tls_cert and tls_key";
  if (auto origin = first_bad_origin(c.web_origins))
    return fmt::format("web_origins: '{}' is not http://HOST[:PORT] or https://HOST[:PORT]",
                       *origin);
  if (c.tls_listen.empty() && c.web_tls_listen.empty() &&
      (!c.tls_cert.empty() || !c.tls_key.empty()))
    return "tls_cert, tls_key: set tls_listen too, or the TLS listener stays off";
  if (c.engine != "embedded" && c.engine != "redis")
    return fmt::format("engine: '{}' is not embedded or redis", c.engine);
  if (c.engine == "redis" && !parse_host_port_list(c.redis))
    return fmt::format("redis: '{}' is not HOST:PORT or a comma-separated list of them", c.redis);
  if (c.redis_acknowledge != "master" && c.redis_acknowledge != "replica")
    return fmt::format("redis_acknowledge: '{}' is not master or replica", c.redis_acknowledge);
  if (c.redis_replica_timeout_ms < 1) return "redis_replica_timeout_ms: at least 1";
  if (c.heartbeat_ms < 10) return "heartbeat_ms: at least 10";
  if (c.node_expiry_ms < 2 * static_cast<std::uint64_t>(c.heartbeat_ms))
    return "node_expiry_ms: at least twice heartbeat_ms";
  if (!c.http.empty() && !parse_host_port(c.http))
    return fmt::format("http: '{}' is not HOST:PORT", c.http);
  if (!parse_log_format(c.log_format))
    return fmt::format("log_format: '{}' is not human or json", c.log_format);
  if (c.shards > 256) return "shards: at most 256";
  for (const Setting& setting : all_settings()) {
    if (const auto* rate = std::get_if<double ServerConfig::*>(&setting.member)) {
      const double value = c.**rate;
      if (!std::isfinite(value) || value < 0)
        return fmt::format("{}: must be a finite number >= 0", setting.key);
    }
  }
  // Both go into every Welcome: protobuf strings must be UTF-8, and the frame must stay small.
  if (c.name.size() > 256 || !utf8::is_valid(c.name)) return "name: at most 256 bytes of UTF-8";
  if (c.motd.size() > 4096 || !utf8::is_valid(c.motd)) return "motd: at most 4096 bytes of UTF-8";
  if (!parse_log_level(c.log_level)) {
    return fmt::format(
        "log_level: '{}' is not one of trace, debug, info, warn, error, critical, off",
        c.log_level);
  }
  if (c.max_frame_bytes < 256 || c.max_frame_bytes > 64 * 1024 * 1024)
    return "max_frame_bytes: between 256 and 67108864";
  if (c.max_text_bytes == 0 || c.max_text_bytes + 512 > c.max_frame_bytes) {
    return "max_text_bytes: at least 1 and at most max_frame_bytes - 512";
  }
  if (c.max_rooms_per_session == 0) return "max_rooms_per_session: at least 1";
  if (c.max_members_per_room == 0) return "max_members_per_room: at least 1";
  if (c.max_connections == 0) return "max_connections: at least 1";
  if (c.messages_per_second > 0 && c.message_burst == 0)
    return "message_burst: at least 1 when rate limited";
  if (c.bytes_per_second > 0 && c.bytes_burst < c.max_text_bytes)
    return "bytes_burst: at least max_text_bytes";
  if (c.handshake_timeout_ms == 0) return "handshake_timeout_ms: at least 1";
  if (c.idle_timeout_ms < 100) return "idle_timeout_ms: at least 100";
  if (c.outbox_soft_bytes > c.outbox_hard_bytes)
    return "outbox_soft_bytes: at most outbox_hard_bytes";
  if (c.outbox_hard_bytes < c.max_frame_bytes) return "outbox_hard_bytes: at least max_frame_bytes";
  if (c.write_batch_frames == 0) return "write_batch_frames: at least 1";
  if (c.write_batch_bytes == 0) return "write_batch_bytes: at least 1";
  if (c.max_history == 0) return "max_history: at least 1";
  if (c.storage != "sqlite" && c.storage != "temporary") {
    return fmt::format("storage: '{}' is not one of sqlite, temporary", c.storage);
  }
  if (c.guests != "allow" && c.guests != "deny") {
    return fmt::format("guests: '{}' is not one of allow, deny", c.guests);
  }
  if (c.hash_cost != "interactive" && c.hash_cost != "minimum") {
    return fmt::format("hash_cost: '{}' is not one of interactive, minimum", c.hash_cost);
  }
  if (c.hash_threads == 0 || c.hash_threads > 64) return "hash_threads: between 1 and 64";
  if (c.failed_login_burst == 0) return "failed_login_burst: at least 1";
  if (c.failed_login_refill_s == 0) return "failed_login_refill_s: at least 1";
  if (c.history_on_join > c.history_in_memory) return "history_on_join: at most history_in_memory";
  return std::nullopt;
}

std::optional<std::string> load_config_file(const std::string& path, ServerConfig& config) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    if (!where) return fmt::format("config {}: {}", path, e.description());
    return fmt::format("config {}:{}:{}: {}", path, where.line, where.column, e.description());
  }
  std::set<std::string> known_tables;
  for (const Setting& setting : all_settings()) known_tables.emplace(setting.table);
  for (const auto& [table_name, node] : root) {
    const std::string table(table_name.str());
    if (!known_tables.contains(table))
      return fmt::format("config {}: unknown table or key '{}'", path, table);
    if (!node.is_table()) return fmt::format("config {}: '{}' must be a table", path, table);
    for (const auto& [key_name, value] : *node.as_table()) {
      const std::string key(key_name.str());
      const Setting* found = nullptr;
      for (const Setting& setting : all_settings()) {
        if (setting.table == table && setting.key == key) found = &setting;
      }
      if (!found) return fmt::format("config {}: unknown key '{}.{}'", path, table, key);
      if (auto problem = assign(value, found->member, config)) {
        return fmt::format("config {}: {}.{}: {}", path, table, key, *problem);
      }
    }
  }
  if (auto problem = validate(config)) return fmt::format("config {}: {}", path, *problem);
  return std::nullopt;
}

std::string to_toml(const ServerConfig& config) {
  std::string out = "# chat-server configuration: every setting with its value.\n";
  std::string_view table;
  for (const Setting& setting : all_settings()) {
    if (setting.table != table) {
      table = setting.table;
      out += fmt::format("\n[{}]\n", table);
    }
    out += fmt::format("# {}\n{} = ", setting.help, setting.key);
    std::visit(
        [&](auto ptr) {
          using T = std::remove_cvref_t<decltype(config.*ptr)>;
          if constexpr (std::is_same_v<T, std::string>) {
            out += quoted(config.*ptr);
          } else if constexpr (std::is_same_v<T, double>) {
            out += fmt::format("{:.6g}", config.*ptr);
            if (out.find_first_of(".e", out.rfind(' ')) == std::string::npos) out += ".0";
          } else {
            out += fmt::format("{}", config.*ptr);
          }
        },
        setting.member);
    out += "\n";
  }
  return out;
}

}  // namespace chat::server
