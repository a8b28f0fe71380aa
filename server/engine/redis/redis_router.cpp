#include "redis_router.hpp"

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <utility>

#include <fmt/format.h>

namespace chat::server::redis {
namespace {

Reply error_reply(std::string text) {
  Reply reply;
  reply.type = Reply::Type::error;
  reply.text = std::move(text);
  return reply;
}

// Refusals that say "not now" before the command ran: sent again after a pause.
bool refused_for_now(const std::string& error) {
  return error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN") ||
         error.starts_with("LOADING") || error.starts_with("MASTERDOWN") ||
         error.starts_with("READONLY");  // a master that came back as a replica
}

}  // namespace

struct Router::Counters {
  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> redirects{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> latency_ns{0};
};

// The replicated commands Redis has answered on a node's replicated connection, waiting for the
// WAIT that covers them: one WAIT at a time is on its way, sent once a reply comes while none is.
// Replies come in order, so the ones that come before a WAIT's reply are those sent before it.
struct Router::ReplicaWaits {
  std::vector<std::pair<std::shared_ptr<Request>, Reply>> answered;
  bool waiting = false;
};

struct Router::Node {
  HostPort address;
  std::string name;  // "host:port"
  std::shared_ptr<Counters> counters;
  std::unique_ptr<Connection> commands;
  std::unique_ptr<Connection> subscriber;
  std::unique_ptr<Connection> replicated;  // when options.replicas > 0
  ReplicaWaits waits;
  int in_flight = 0;  // commands sent and not answered: kept while it has any
  std::chrono::steady_clock::time_point asked_at;  // last named by an ASK: kept a while after
  bool was_up = false;
  int running = 0;  // connections still finishing, once retired

  // Each connection the node has (those it does not have are null).
  std::array<Connection*, 3> connections() const {
    return {commands.get(), subscriber.get(), replicated.get()};
  }
};

struct Router::Request {
  std::uint16_t slot = 0;
  bool any_master = false;
  std::string encoded;  // the command, as sent (again, after a redirect)
  Done done;
  int attempts = 0;
  bool replicated = false;
};

Router::Router(asio::io_context& io, RouterOptions options)
    : io_(io), options_(std::move(options)), refresh_timer_(io) {}

Router::~Router() = default;

void Router::start() {
  for (const HostPort& seed : options_.seeds) node(seed);
  schedule_refresh(options_.refresh_interval);
}

void Router::stop() {
  stopped_ = true;
  refresh_timer_.cancel();
  for (auto& [name, node] : nodes_) {
    for (Connection* connection : node->connections())
      if (connection) connection->stop();
  }
}

std::string Router::problem() const {
  if (!map_) {
    std::string why = "redis unavailable: no Redis answered yet";
    for (const auto& [name, node] : nodes_)
      if (!node->commands->last_error().empty()) why += "; " + node->commands->last_error();
    return why;
  }
  if (const auto unserved = map_->unserved(); unserved > 0)
    return std::to_string(unserved) + " slot(s) have no master";
  for (const HostPort& master : map_->masters()) {
    const auto it = nodes_.find(address_text(master));
    if (it == nodes_.end() || !it->second->commands->connected()) {
      const std::string last_error =
          it != nodes_.end() ? it->second->commands->last_error() : std::string();
      return fmt::format("redis unavailable: {} (slots {}) is unreachable{}{}",
                         address_text(master), map_->slots_of(master),
                         last_error.empty() ? "" : ": ", last_error);
    }
  }
  return "";
}

void Router::command(std::string_view routing_key, std::vector<std::string> args, Done done) {
  command_encoded(routing_key, encode_command(args), std::move(done));
}

void Router::command_encoded(std::string_view routing_key, std::string encoded, Done done,
                             bool replicated) {
  auto request = std::make_shared<Request>();
  request->slot = key_slot(routing_key);
  request->any_master = routing_key.empty();
  request->encoded = std::move(encoded);
  request->done = std::move(done);
  request->replicated = replicated && options_.replicas > 0;
  send(std::move(request));
}

void Router::ping_all(std::function<void(std::string)> done) {
  if (!ready_) return done(problem());
  struct Pings {
    std::size_t waiting = 0;
    std::string problem;
    std::function<void(std::string)> done;
  };
  auto pings = std::make_shared<Pings>();
  pings->done = std::move(done);
  const auto masters = map_->masters();
  pings->waiting = masters.size();
  for (const HostPort& master : masters) {
    node(master).commands->command(
        {"PING"}, [pings, name = address_text(master), slots = map_->slots_of(master)](Reply r) {
          if (r.is_error() && pings->problem.empty())
            pings->problem = "redis " + name + " (slots " + slots + "): " + r.text;
          if (--pings->waiting == 0) pings->done(pings->problem);
        });
  }
}

void Router::send(std::shared_ptr<Request> request) {
  if (stopped_) return fail(request, "stopped");
  if (!map_) return fail(request, problem());
  const HostPort* owner = nullptr;
  if (request->any_master) {
    const auto masters = map_->masters();
    if (!masters.empty()) owner = &node(masters.front()).address;
  } else {
    owner = map_->owner(request->slot);
  }
  if (!owner) return fail(request, "no Redis master serves slot " + std::to_string(request->slot));
  send_to(node(*owner), std::move(request), false);
}

void Router::send_to(Node& target, std::shared_ptr<Request> request, bool asking) {
  const int attempt = ++request->attempts;
  const auto sent = std::chrono::steady_clock::now();
  Connection& connection = request->replicated ? *target.replicated : *target.commands;
  if (!connection.connected() && request->attempts < options_.max_attempts && !stopped_) {
    // Not connected yet (a node a redirect just named) or again (a master failing over).
    schedule_refresh(options_.retry_delay);
    return retry_later(std::move(request));
  }
  if (asking) connection.command({"ASKING"}, [](Reply) {});
  ++target.in_flight;
  connection.command_encoded(request->encoded,
                             [this, request, attempt, sent, node = &target](Reply reply) mutable {
                               --node->in_flight;
                               if (request->attempts != attempt) return;
                               on_reply(std::move(request), *node, std::move(reply), sent);
                             });
}

// (The node lives until its connections have finished, after every callback.)
void Router::on_reply(std::shared_ptr<Request> request, Node& node, Reply reply,
                      std::chrono::steady_clock::time_point sent) {
  const auto redirect = reply.is_error() ? parse_redirect(reply.text) : std::nullopt;
  constexpr auto relaxed = std::memory_order_relaxed;
  Counters& counters = *node.counters;
  counters.commands.fetch_add(1, relaxed);
  counters.latency_ns.fetch_add(
      static_cast<std::uint64_t>((std::chrono::steady_clock::now() - sent).count()), relaxed);
  if (reply.is_error()) counters.errors.fetch_add(1, relaxed);
  if (redirect) counters.redirects.fetch_add(1, relaxed);
  const bool may_retry = request->attempts < options_.max_attempts && !stopped_;
  if (redirect && may_retry) {
    if (redirect->kind == Redirect::Kind::ask) {
      Node& importing = this->node(redirect->address);  // maybe a master with no slot yet
      importing.asked_at = std::chrono::steady_clock::now();
      return send_to(importing, request, true);
    }
    if (map_) map_->assign(redirect->slot, redirect->address);
    schedule_refresh(std::chrono::milliseconds(0));  // more than one slot may have moved
    return send(std::move(request));
  }
  if (reply.is_error() && reply.text.starts_with("NOSCRIPT") && on_noscript && may_retry) {
    if (auto with_text = on_noscript(request->encoded)) {
      request->encoded = std::move(*with_text);
      return send(std::move(request));
    }
  }
  if (reply.is_error() && refused_for_now(reply.text) && may_retry) {
    if (reply.text.starts_with("READONLY") || reply.text.starts_with("CLUSTERDOWN"))
      schedule_refresh(std::chrono::milliseconds(0));
    return retry_later(std::move(request));
  }
  if (reply.is_error() && reply.text.starts_with("ERR redis unavailable"))
    schedule_refresh(std::chrono::milliseconds(0));
  if (request->replicated && !reply.is_error()) {
    node.waits.answered.emplace_back(std::move(request), std::move(reply));
    if (!node.waits.waiting) wait_for_replicas(node);
    return;
  }
  request->done(std::move(reply));
}

// (The node lives until its connections have finished, after every callback.)
void Router::wait_for_replicas(Node& node) {
  ReplicaWaits* waits = &node.waits;
  waits->waiting = true;
  const int replicas = options_.replicas;
  const auto timeout = options_.replica_timeout;
  node.replicated->command(
      {"WAIT", std::to_string(replicas), std::to_string(timeout.count())},
      [waits, replicas, timeout](Reply waited) {
        waits->waiting = false;
        auto answered = std::move(waits->answered);
        waits->answered.clear();
        const bool on_replicas = waited.type == Reply::Type::integer && waited.integer >= replicas;
        for (auto& [request, answer] : answered) {
          if (!on_replicas) {
            answer = error_reply(fmt::format(
                "ERR redis: not known to be on a replica within {} ms ({}; the master has it; a "
                "retry with the same client_msg_id is safe)",
                timeout.count(), waited.is_error() ? waited.text : "too few replicas answered"));
          }
          request->done(std::move(answer));
        }
      });
}

void Router::retry_later(std::shared_ptr<Request> request) {
  auto timer = std::make_shared<asio::steady_timer>(io_, options_.retry_delay);
  timer->async_wait([this, timer, request = std::move(request)](const asio::error_code&) mutable {
    send(std::move(request));
  });
}

void Router::fail(const std::shared_ptr<Request>& request, const std::string& why) {
  ++request->attempts;  // a WAIT still on its way ignores this request
  asio::post(io_, [request, why] {
    request->done(error_reply(fmt::format(
        "ERR {}{}", why.starts_with("redis unavailable") ? "" : "redis unavailable: ", why)));
  });
}

Router::Node& Router::node(const HostPort& address) {
  const std::string name = address_text(address);
  if (auto it = nodes_.find(name); it != nodes_.end()) return *it->second;
  auto made = std::make_unique<Node>();
  made->address = address;
  made->name = name;
  {
    std::lock_guard lock(stats_mutex_);
    auto& counters = counters_[name];
    if (!counters) counters = std::make_shared<Counters>();
    made->counters = counters;
  }
  ConnectionOptions connection = options_.connection;
  connection.address = address;
  connection.subscriber = false;
  made->commands = std::make_unique<Connection>(io_, connection);
  if (options_.replicas > 0) made->replicated = std::make_unique<Connection>(io_, connection);
  Node* raw = made.get();
  made->commands->on_state = [this, raw](bool up) {
    raw->counters->connected = up;
    if (up) {
      if (raw->was_up) raw->counters->reconnects.fetch_add(1, std::memory_order_relaxed);
      raw->was_up = true;
      if (on_connected) on_connected(*raw->commands);
      if (!map_ || cluster_) refresh();
    } else if (!stopped_) {
      schedule_refresh(std::chrono::milliseconds(0));
    }
    update_ready();
  };
  if (options_.subscriptions) {
    connection.subscriber = true;
    made->subscriber = std::make_unique<Connection>(io_, connection);
    made->subscriber->on_message = [this](const std::string& channel, const std::string& payload) {
      if (on_message) on_message(channel, payload);
    };
    made->subscriber->on_subscribed = [this](const std::string& channel) {
      if (on_subscribed) on_subscribed(channel);
    };
    made->subscriber->on_dropped = [this](const std::string& channel) {
      // Its slot moved (or is moving): subscribed again where the new map says, once it is read.
      if (auto it = channels_.find(channel); it != channels_.end()) it->second.clear();
      schedule_refresh(options_.retry_delay);
    };
    made->subscriber->on_state = [this](bool) { update_ready(); };
  }

  for (Connection* each : made->connections())
    if (each) each->start();
  return *nodes_.emplace(name, std::move(made)).first->second;
}

void Router::refresh() {
  if (refreshing_ || stopped_) return;
  // Ask a connected node, masters of the current map first.
  Node* asked = nullptr;
  for (auto& [name, candidate] : nodes_) {
    if (!candidate->commands->connected()) continue;
    if (!asked || (map_ && !map_->slots_of(candidate->address).empty())) asked = candidate.get();
  }
  if (!asked) {
    for (const HostPort& seed : options_.seeds) node(seed);  // all lost: start from the seeds
    return schedule_refresh(options_.refresh_interval / 4);
  }
  refreshing_ = true;
  asked->commands->command({"CLUSTER", "SLOTS"}, [this, address = asked->address](Reply reply) {
    refreshing_ = false;
    if (stopped_) return;
    if (reply.is_error() && reply.text.find("cluster support disabled") != std::string::npos)
      return apply(SlotMap::single(address), false);
    auto map = SlotMap::from_cluster_slots(reply, address);
    if (!map || map->masters().empty()) {
      spdlog::warn("redis: no slot map from {}: {}", address_text(address), reply.describe());
      return schedule_refresh(options_.refresh_interval / 4);
    }
    apply(std::move(*map), true);
  });
}

void Router::schedule_refresh(std::chrono::milliseconds after) {
  if (stopped_) return;
  // An earlier refresh stays earlier.
  const auto when = std::chrono::steady_clock::now() + after;
  if (refresh_timer_.expiry() > std::chrono::steady_clock::now() && refresh_timer_.expiry() <= when)
    return;
  refresh_timer_.expires_at(when);
  refresh_timer_.async_wait([this](const asio::error_code& error) {
    if (error) return;
    refresh();
    schedule_refresh(ready_ ? options_.refresh_interval : options_.refresh_interval / 4);
  });
}

void Router::apply(SlotMap map, bool cluster) {
  map_ = std::move(map);
  cluster_ = cluster;
  std::string layout;
  for (const HostPort& master : map_->masters()) {
    node(master);
    layout += fmt::format(" {} ({})", address_text(master), map_->slots_of(master));
  }
  if (cluster_) drop_nodes_not_in_map();
  if (layout != layout_) {  // the first map, a failover, a slot moved
    spdlog::info("redis: {}{}", cluster_ ? "cluster masters" : "one Redis,", layout);
    layout_ = std::move(layout);
  }
  {
    std::lock_guard lock(stats_mutex_);
    slots_.clear();
    for (const HostPort& master : map_->masters())
      slots_[address_text(master)] = map_->slots_of(master);
  }
  place_subscriptions();
  update_ready();
}

void Router::drop_nodes_not_in_map() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    const Node& candidate = *it->second;
    const bool busy = candidate.in_flight > 0 || candidate.waits.waiting ||
                      now - candidate.asked_at < 5 * options_.refresh_interval;
    if (!map_->slots_of(candidate.address).empty() || busy) {
      ++it;
      continue;
    }
    // Not a master any more (or a seed that never was), and nothing on its way to it: stopped,
    // destroyed once it has finished.
    std::unique_ptr<Node> node = std::move(it->second);
    it = nodes_.erase(it);
    for (auto& [channel, on] : channels_)
      if (on == node->name) on.clear();
    retire(std::move(node));
  }
}

void Router::retire(std::unique_ptr<Node> node) {
  Node* retired = node.get();
  retired->counters->connected = false;
  for (Connection* connection : retired->connections()) {
    if (!connection) continue;
    ++retired->running;
    connection->on_state = nullptr;
    connection->on_finished = [this, retired] {
      asio::post(io_, [this, retired] {
        if (--retired->running > 0) return;
        std::erase_if(retired_, [&](const auto& one) { return one.get() == retired; });
      });
    };
    connection->stop();
  }
  retired_.push_back(std::move(node));
}

void Router::place_subscriptions() {
  if (!map_ || !options_.subscriptions) return;
  for (auto& [channel, on] : channels_) {
    const HostPort* owner = map_->owner(key_slot(channel));
    if (!owner) continue;
    const std::string name = address_text(*owner);
    if (on == name) continue;
    if (auto old = nodes_.find(on); !on.empty() && old != nodes_.end())
      old->second->subscriber->unsubscribe(channel);
    node(*owner).subscriber->subscribe(channel);
    on = name;
  }
}

void Router::subscribe(const std::string& channel) {
  if (!channels_.emplace(channel, "").second) return;
  place_subscriptions();
}

void Router::unsubscribe(const std::string& channel) {
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  if (auto on = nodes_.find(it->second); !it->second.empty() && on != nodes_.end())
    on->second->subscriber->unsubscribe(channel);
  channels_.erase(it);
}

void Router::update_ready() {
  bool ready = map_ && problem().empty();
  if (ready && options_.subscriptions) {
    for (const HostPort& master : map_->masters())
      ready = ready && node(master).subscriber->connected();
  }
  if (ready == ready_) return;
  ready_ = ready;
  if (on_state) on_state(ready);
}

std::vector<ShardStats> Router::stats() const {
  constexpr auto relaxed = std::memory_order_relaxed;
  std::lock_guard lock(stats_mutex_);
  std::vector<ShardStats> out;
  for (const auto& [address, slots] : slots_) {
    const auto it = counters_.find(address);
    if (it == counters_.end()) continue;
    const Counters& counters = *it->second;
    out.push_back(
        {.address = address,
         .slots = slots,
         .connected = counters.connected.load(relaxed),
         .commands = counters.commands.load(relaxed),
         .errors = counters.errors.load(relaxed),
         .redirects = counters.redirects.load(relaxed),
         .reconnects = counters.reconnects.load(relaxed),
         .latency_seconds_sum = static_cast<double>(counters.latency_ns.load(relaxed)) / 1e9});
  }
  return out;
}

}  // namespace chat::server::redis
