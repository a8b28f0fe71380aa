#pragma once
// The /metrics scrape: server-wide counters, what each shard holds now (asked of the shard on its
// own thread), and the store's commit statistics, in Prometheus text format.

#include <asio/awaitable.hpp>

#include <string>

namespace chat::server {

struct ServerContext;

asio::awaitable<std::string> render_metrics(ServerContext& context);

}  // namespace chat::server
