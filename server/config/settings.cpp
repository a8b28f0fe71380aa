#include "settings.hpp"

#include <array>

namespace chat::server {
namespace {

using C = ServerConfig;

const std::array settings{
    Setting{"server", "listen", "address to listen on, HOST:PORT (empty: TLS only)", &C::listen},
    Setting{"server", "data_dir", "directory for the server's data", &C::data_dir},
    Setting{"server", "shards", "worker threads, each with its own event loop (0: one per core)",
            &C::shards},
    Setting{"server", "name", "server name sent in Welcome", &C::name},
    Setting{"server", "motd", "message of the day sent in Welcome", &C::motd},
    Setting{"server", "log_level", "trace, debug, info, warn, error, critical or off",
            &C::log_level},
    Setting{"server", "log_format", "human (one line per event) or json (one object per line)",
            &C::log_format},
    Setting{"server", "http",
            "HOST:PORT for /metrics (Prometheus), /healthz and /readyz (empty: off)", &C::http},
    Setting{"web", "web",
            "HOST:PORT serving the browser client at / and chat over WebSocket at /ws (empty: off)",
            &C::web},
    Setting{"web", "web_tls_listen",
            "HOST:PORT of the web listener over TLS, with tls_cert and tls_key (empty: off)",
            &C::web_tls_listen},
    Setting{"web", "web_origins",
            "origins (scheme://host:port, comma-separated) whose pages may open /ws (empty: the "
            "listener's own)",
            &C::web_origins},
    Setting{"irc", "irc_listen",
            "HOST:PORT for IRC clients (irssi, WeeChat, HexChat, ...) in the same rooms (empty: "
            "off)",
            &C::irc_listen},
    Setting{"irc", "irc_tls_listen",
            "HOST:PORT for IRC over TLS, with tls_cert and tls_key (empty: off)",
            &C::irc_tls_listen},
    Setting{"tls", "tls_listen", "HOST:PORT of the TLS listener (empty: off)", &C::tls_listen},
    Setting{"tls", "tls_cert", "PEM certificate chain for TLS, re-read on SIGHUP", &C::tls_cert},
    Setting{"tls", "tls_key", "PEM private key for TLS, re-read on SIGHUP", &C::tls_key},
    Setting{"limits", "max_frame_bytes", "largest frame accepted from a client",
            &C::max_frame_bytes},
    Setting{"limits", "max_text_bytes", "longest message text", &C::max_text_bytes},
    Setting{"limits", "max_rooms_per_session", "most rooms one session may join",
            &C::max_rooms_per_session},
    Setting{"limits", "max_members_per_room", "most members in one room", &C::max_members_per_room},
    Setting{"limits", "max_presence_members",
            "rooms with more members get no join, leave, nick or typing events (0: no limit)",
            &C::max_presence_members},
    Setting{"limits", "max_connections", "most connections in total", &C::max_connections},
    Setting{"limits", "max_connections_per_address",
            "most connections from one address (0: no limit)", &C::max_connections_per_address},
    Setting{"limits", "messages_per_second", "requests per second per session (0: no limit)",
            &C::messages_per_second},
    Setting{"limits", "message_burst", "request burst per session", &C::message_burst},
    Setting{"limits", "bytes_per_second", "text bytes per second per session (0: no limit)",
            &C::bytes_per_second},
    Setting{"limits", "bytes_burst", "text byte burst per session", &C::bytes_burst},
    Setting{"limits", "rate_limit_strikes", "rate-limited requests in a row before disconnecting",
            &C::rate_limit_strikes},
    Setting{"limits", "handshake_timeout_ms", "time allowed for Hello after connecting",
            &C::handshake_timeout_ms},
    Setting{"limits", "idle_timeout_ms", "silence before the server pings; twice this disconnects",
            &C::idle_timeout_ms},
    Setting{"limits", "close_timeout_ms", "time to flush a closing connection before dropping it",
            &C::close_timeout_ms},
    Setting{"limits", "shutdown_timeout_ms", "time to flush all clients on shutdown",
            &C::shutdown_timeout_ms},
    Setting{"limits", "memory_budget_mb", "refuse new connections above this RSS (0: 80% of RAM)",
            &C::memory_budget_mb},
    Setting{"limits", "memory_release_interval_ms",
            "how often to give free heap back to the system when much of it is free (0: never)",
            &C::memory_release_interval_ms},
    Setting{"limits", "accepts_per_second", "connection accept rate (0: no limit)",
            &C::accepts_per_second},
    Setting{"limits", "accept_burst", "connection accept burst", &C::accept_burst},
    Setting{"outbox", "outbox_soft_bytes", "queued bytes above which presence events are shed",
            &C::outbox_soft_bytes},
    Setting{"outbox", "outbox_hard_bytes",
            "queued bytes above which messages become a Gap or the client is dropped",
            &C::outbox_hard_bytes},
    Setting{"outbox", "write_batch_frames", "most frames in one write to a client",
            &C::write_batch_frames},
    Setting{"outbox", "write_batch_bytes", "most bytes in one write to a client",
            &C::write_batch_bytes},
    Setting{"outbox", "flush_interval_us",
            "a busy shard writes to its clients at most this often, and no sooner after a round "
            "of writes than that round took (up to twice this), so more messages share a send (0: "
            "at once); answers go at once",
            &C::flush_interval_us},
    Setting{"history", "history_on_join", "recent messages sent on join", &C::history_on_join},
    Setting{"history", "max_history", "most messages in one History reply", &C::max_history},
    Setting{"history", "history_in_memory", "recent messages kept in memory per room",
            &C::history_in_memory},
    Setting{"storage", "storage",
            "sqlite (chat.db in data_dir, fsync per group commit) or temporary (a throwaway "
            "directory, no fsync)",
            &C::storage},
    Setting{"storage", "retention_messages", "messages kept per room (0: all)",
            &C::retention_messages},
    Setting{"storage", "retention_seconds", "age after which messages are deleted (0: never)",
            &C::retention_seconds},
    Setting{"cluster", "engine",
            "embedded (SQLite in data_dir, one node) or redis (several nodes share rooms through "
            "Redis; storage and data_dir do not apply)",
            &C::engine},
    Setting{"cluster", "redis",
            "HOST:PORT of Redis, or of any nodes of a Redis Cluster separated by commas, with "
            "engine = redis",
            &C::redis},
    Setting{"cluster", "heartbeat_ms", "how often a node tells Redis it is alive (ms)",
            &C::heartbeat_ms},
    Setting{"cluster", "node_expiry_ms",
            "a node silent this long is taken for dead: its members leave (ms, at least twice "
            "heartbeat_ms)",
            &C::node_expiry_ms},
    Setting{"cluster", "redis_acknowledge",
            "master (a message is acknowledged once its Redis master has it) or replica (once a "
            "replica has it too: survives the master's death)",
            &C::redis_acknowledge},
    Setting{"cluster", "redis_replica_timeout_ms",
            "with redis_acknowledge = replica: how long a message waits for a replica before "
            "the sender gets an error (ms)",
            &C::redis_replica_timeout_ms},
    Setting{"accounts", "guests", "allow (unregistered nicks may connect) or deny", &C::guests},
    Setting{"accounts", "hash_cost", "argon2id cost of password hashes: interactive or minimum",
            &C::hash_cost},
    Setting{"accounts", "hash_threads", "threads that hash and check passwords", &C::hash_threads},
    Setting{"accounts", "failed_login_burst", "failed logins one address may make at once",
            &C::failed_login_burst},
    Setting{"accounts", "failed_login_refill_s", "seconds until an address may fail one more login",
            &C::failed_login_refill_s},
};

}  // namespace

std::span<const Setting> all_settings() { return settings; }

std::string flag_name(const Setting& setting) {
  std::string flag = "--" + std::string(setting.key);
  for (char& c : flag) {
    if (c == '_') c = '-';
  }
  return flag;
}

}  // namespace chat::server
