#pragma once
// Every setting of chat-server, with its embedded default. A setting comes from the default, then
// the TOML file (--config), then a flag; settings.cpp lists each once for all three.

#include <cstdint>
#include <optional>
#include <string>

#include "host_port.hpp"

namespace chat::server {

struct ServerConfig {
  // [server]
  std::string listen = "127.0.0.1:7777";  // "": no plain-text listener (TLS only)
  std::string data_dir = "./data";
  std::uint32_t shards = 0;  // 0: one per hardware thread
  std::string name = "chat-server";
  std::string motd = "";
  std::string log_level = "info";
  std::string log_format = "human";  // "human" or "json"
  std::string http = "";             // HOST:PORT of /metrics, /healthz and /readyz; "": off
  // [irc]
  std::string irc_listen = "127.0.0.1:6667";  // HOST:PORT for IRC clients; "": off
  std::string irc_tls_listen = "";            // IRC over TLS (tls_cert, tls_key); "": off
  // [web]
  std::string web = "127.0.0.1:8080";  // HOST:PORT of the browser client and /ws; "": off
  std::string web_tls_listen = "";     // the same over TLS (tls_cert, tls_key); "": off
  std::string web_origins = "";        // pages allowed to open /ws; "": the listener's own host
  // [tls]
  std::string tls_listen = "";  // HOST:PORT of the TLS listener; "": off
  std::string tls_cert = "";    // PEM certificate chain, re-read on SIGHUP
  std::string tls_key = "";     // PEM private key, re-read on SIGHUP
  // [limits]
  std::uint32_t max_frame_bytes = 64 * 1024;
  std::uint32_t max_text_bytes = 4096;
  std::uint32_t max_rooms_per_session = 100;
  std::uint32_t max_members_per_room = 100000;
  std::uint32_t max_presence_members = 500;  // larger rooms get no join/leave/nick/typing events
  std::uint32_t max_connections = 100000;
  std::uint32_t max_connections_per_address = 1000;
  double messages_per_second = 20;
  std::uint32_t message_burst = 40;
  double bytes_per_second = 64 * 1024;
  std::uint32_t bytes_burst = 256 * 1024;
  std::uint32_t rate_limit_strikes = 50;
  std::uint32_t handshake_timeout_ms = 10000;
  std::uint32_t idle_timeout_ms = 60000;
  std::uint32_t close_timeout_ms = 2000;
  std::uint32_t shutdown_timeout_ms = 5000;
  std::uint32_t memory_budget_mb = 0;                // 0: 80% of physical memory
  std::uint32_t memory_release_interval_ms = 10000;  // 0: never give free heap back
  double accepts_per_second = 5000;
  std::uint32_t accept_burst = 1000;
  // [outbox]
  std::uint32_t outbox_soft_bytes = 512 * 1024;
  std::uint32_t outbox_hard_bytes = 4 * 1024 * 1024;
  std::uint32_t write_batch_frames = 512;
  std::uint32_t write_batch_bytes = 256 * 1024;
  std::uint32_t flush_interval_us = 2000;  // a busy shard flushes at most this often
  // [history]
  std::uint32_t history_on_join = 50;
  std::uint32_t max_history = 500;
  std::uint32_t history_in_memory = 1000;
  // [storage]
  std::string storage = "sqlite";        // "sqlite" (in data_dir) or "temporary" (removed on stop)
  std::uint32_t retention_messages = 0;  // per room; 0: keep all
  std::uint32_t retention_seconds = 0;   // 0: keep all
  // [cluster]
  std::string engine = "embedded";           // "embedded" (SQLite, one node) or "redis" (cluster)
  std::string redis = "127.0.0.1:6379";      // HOST:PORT[,HOST:PORT...] of Redis or cluster nodes
  std::uint32_t heartbeat_ms = 1000;         // how often a node tells Redis it is alive
  std::uint32_t node_expiry_ms = 5000;       // a node silent this long is taken for dead
  std::string redis_acknowledge = "master";  // "master" or "replica" (WAIT for one replica)
  std::uint32_t redis_replica_timeout_ms = 1000;  // how long a message waits for a replica
  // [accounts]
  std::string guests = "allow";           // "allow": unregistered nicks may connect; "deny"
  std::string hash_cost = "interactive";  // argon2id cost: "interactive" or "minimum" (tests)
  std::uint32_t hash_threads = 2;
  std::uint32_t failed_login_burst = 5;
  std::uint32_t failed_login_refill_s = 10;
};

using ListenAddress = HostPort;

// A one-line description of the first setting that is out of range, or nullopt when all are fine.
std::optional<std::string> validate(const ServerConfig& config);

// Reads a TOML file over config. Returns a one-line error naming the file and key on failure
// (unknown key, wrong type, value out of range, syntax error, unreadable file).
std::optional<std::string> load_config_file(const std::string& path, ServerConfig& config);

// The effective configuration as TOML, every setting commented, in the file's own format.
std::string to_toml(const ServerConfig& config);

}  // namespace chat::server
