#include "metrics_page.hpp"

#include <array>
#include <tuple>

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

#include <cctype>
#include <vector>

#include "metrics/prometheus_text.hpp"
#include "server_context.hpp"
#include "shard.hpp"

namespace chat::server {
namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

template <typename Array, typename NameOf>
void counters_by(PrometheusText& out, std::string_view name, std::string_view help,
                 std::string_view label, const Array& counters, NameOf name_of) {
  for (std::size_t i = 0; i < counters.size(); ++i) {
    const std::string value_name = name_of(static_cast<int>(i));
    if (value_name.empty() || value_name.ends_with("UNSPECIFIED")) continue;
    out.counter(name, help, ServerStats::get(counters[i]),
                {{std::string(label), lower(value_name)}});
  }
}

void write_server_counters(PrometheusText& out, const ServerStats& stats) {
  out.counter("chat_connections_accepted_total", "Connections accepted",
              ServerStats::get(stats.connections_accepted));
  constexpr std::string_view rejected_help =
      "Connections refused at accept (limits) or failing the TLS handshake";
  constexpr std::array<const char*, 3> causes{"max_connections", "per_address_limit",
                                              "memory_budget"};
  for (std::size_t i = 0; i < causes.size(); ++i) {
    out.counter("chat_connections_rejected_total", rejected_help,
                ServerStats::get(stats.rejections[i]), {{"reason", causes[i]}});
  }
  out.counter("chat_connections_rejected_total",
              "Connections refused at accept (limits) or failing the TLS handshake",
              ServerStats::get(stats.tls_handshake_failures), {{"reason", "tls_handshake"}});
  out.counter("chat_accept_errors_total", "accept() failures (out of file descriptors and such)",
              ServerStats::get(stats.accept_errors));
  out.counter("chat_messages_in_total", "Room messages sent by clients",
              ServerStats::get(stats.messages_in));
  out.counter("chat_deliveries_total",
              "Frames queued to room members by fan-out (messages, presence, edits)",
              ServerStats::get(stats.deliveries));
  counters_by(out, "chat_disconnects_total", "Connections closed by the server, by reason",
              "reason", stats.disconnects, [](int i) {
                return v1::Disconnect::Reason_Name(static_cast<v1::Disconnect::Reason>(i));
              });
  out.counter("chat_slow_consumer_disconnects_total", "Clients dropped for falling too far behind",
              stats.disconnects_for(v1::Disconnect::SLOW_CONSUMER));
  out.counter("chat_rate_limited_total", "Requests refused by the rate limit",
              ServerStats::get(stats.rate_limited));
  out.counter("chat_memory_releases_total", "Times free heap was given back to the system",
              ServerStats::get(stats.memory_releases));
  counters_by(out, "chat_errors_total", "Error replies sent, by code", "code", stats.errors,
              [](int i) { return v1::Error::Code_Name(static_cast<v1::Error::Code>(i)); });
  out.counter("chat_presence_dropped_total", "Presence events shed for clients that are behind",
              ServerStats::get(stats.presence_dropped));
  out.counter("chat_messages_gapped_total", "Queued messages replaced by a Gap for slow clients",
              ServerStats::get(stats.messages_gapped));
  out.histogram("chat_ack_latency_seconds", "From a Send's arrival to its Ack (stored, fanned out)",
                stats.ack_latency.snapshot());
}

// The cluster engine's Redis masters, one labelled sample each (none with the embedded engine).
void write_redis_shards(PrometheusText& out, const std::vector<storage::StoreShard>& shards) {
  using Count = std::uint64_t storage::StoreShard::*;
  const std::array<std::tuple<const char*, const char*, Count>, 4> counters{{
      {"chat_redis_commands_total", "Commands answered by this Redis master",
       &storage::StoreShard::commands},
      {"chat_redis_errors_total", "Error replies from this Redis master (redirects included)",
       &storage::StoreShard::errors},
      {"chat_redis_redirects_total", "MOVED and ASK replies from this Redis master",
       &storage::StoreShard::redirects},
      {"chat_redis_reconnects_total", "Connections to this Redis master made again",
       &storage::StoreShard::reconnects},
  }};
  for (const auto& shard : shards)
    out.gauge("chat_redis_master_up", "1 while this node is connected to the Redis master",
              shard.connected ? 1 : 0, {{"master", shard.address}, {"slots", shard.slots}});
  for (const auto& [name, help, member] : counters)
    for (const auto& shard : shards)
      out.counter(name, help, shard.*member, {{"master", shard.address}});
  for (const auto& shard : shards)
    out.counter("chat_redis_command_seconds_total",
                "Time from sending each command to this Redis master to its reply",
                shard.latency_seconds_sum, {{"master", shard.address}});
}

void write_store(PrometheusText& out, ServerContext& context) {
  const storage::StoreStats store = context.room_log->stats();
  out.counter("chat_store_commits_total", "Group commits of the store", store.commits);
  out.counter("chat_store_writes_total", "Writes committed (messages, edits, accounts...)",
              store.ops_committed);
  out.counter("chat_store_failed_commits_total", "Group commits that failed", store.failed_batches);
  out.gauge("chat_store_queued_writes", "Writes waiting for the next group commit",
            store.queued_writes);
  out.histogram("chat_store_commit_seconds", "Duration of one group commit (fsync included)",
                context.stats.commit_latency.snapshot());
  write_redis_shards(out, store.shards);
}

}  // namespace

asio::awaitable<std::string> render_metrics(ServerContext& context) {
  std::vector<ShardSnapshot> shards;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> bytes;  // in, out
  for (auto& shard : context.shards) {
    Shard& s = *shard;
    shards.push_back(co_await asio::co_spawn(
        s.io(), [&s]() -> asio::awaitable<ShardSnapshot> { co_return s.snapshot(); },
        asio::use_awaitable));
    bytes.emplace_back(s.stats().bytes_in.load(std::memory_order_relaxed),
                       s.stats().bytes_out.load(std::memory_order_relaxed));
  }
  PrometheusText out;
  ShardSnapshot total;
  for (const ShardSnapshot& shard : shards) {
    total.sessions += shard.sessions;
    total.tls_sessions += shard.tls_sessions;
    total.websocket_sessions += shard.websocket_sessions;
    total.websocket_json_sessions += shard.websocket_json_sessions;
    total.rooms += shard.rooms;
    total.members += shard.members;
    total.outbox_bytes += shard.outbox_bytes;
  }
  out.gauge("chat_connections", "Open client connections (sessions)", total.sessions);
  out.gauge("chat_tls_connections", "Open client connections over TLS", total.tls_sessions);
  constexpr const char* by_transport = "Open client connections by transport";
  const std::uint64_t websocket = total.websocket_sessions + total.websocket_json_sessions;
  out.gauge("chat_transport_connections", by_transport, total.sessions - websocket,
            {{"transport", "tcp"}});
  out.gauge("chat_transport_connections", by_transport, total.websocket_sessions,
            {{"transport", "ws"}});
  out.gauge("chat_transport_connections", by_transport, total.websocket_json_sessions,
            {{"transport", "ws-json"}});
  for (std::size_t i = 0; i < shards.size(); ++i) {
    out.gauge("chat_shard_sessions", "Sessions on each shard", shards[i].sessions,
              {{"shard", std::to_string(i)}});
  }
  out.gauge("chat_rooms", "Rooms the server knows", total.rooms);
  out.gauge("chat_room_members", "Members of all rooms (one per session and room)", total.members);
  out.gauge("chat_outbox_bytes", "Bytes queued for clients, not yet written", total.outbox_bytes);
  std::uint64_t in = 0, sent = 0;
  for (const auto& [shard_in, shard_out] : bytes) {
    in += shard_in;
    sent += shard_out;
  }
  out.counter("chat_bytes_in_total", "Bytes read from client sockets (TLS records included)", in);
  out.counter("chat_bytes_out_total", "Bytes written to client sockets (TLS records included)",
              sent);
  write_server_counters(out, context.stats);
  write_store(out, context);
  co_return out.take();
}

}  // namespace chat::server
