#pragma once
// Redis as the engine sees it: one Redis, or a Redis Cluster, behind one call. The router asks
// a seed for CLUSTER SLOTS, keeps one pipelined connection per master (and one for shard-channel
// subscriptions, and one for commands that wait for replicas), sends each command to the master
// serving its key's slot, follows MOVED and ASK, retries what a cluster refused for a moment
// (TRYAGAIN, CLUSTERDOWN) and reads the slot map again when it changed or a master went away. A
// Redis that is not a cluster serves every slot.
//
// Everything runs on the io_context given (one thread); call it from there, except stats().

#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster_slots.hpp"
#include "host_port.hpp"
#include "redis_connection.hpp"
#include "redis_reply.hpp"

namespace chat::server::redis {

struct RouterOptions {
  std::vector<HostPort> seeds;
  ConnectionOptions connection;                      // its address is each node's
  bool subscriptions = false;                        // keep a subscriber connection per master
  std::chrono::milliseconds refresh_interval{2000};  // the map read again, quicker while not ready
  std::chrono::milliseconds retry_delay{100};        // before sending again what TRYAGAIN refused
  int max_attempts = 30;                             // per command: redirects and retries
  // Replicated commands (command_encoded(..., true)) count as done only once this many replicas
  // have them (WAIT), within replica_timeout.
  int replicas = 0;
  std::chrono::milliseconds replica_timeout{1000};
};

// Per master, for /metrics.
struct ShardStats {
  std::string address;
  std::string slots;  // "0-5460"
  bool connected = false;
  std::uint64_t commands = 0;
  std::uint64_t errors = 0;
  std::uint64_t redirects = 0;
  std::uint64_t reconnects = 0;
  double latency_seconds_sum = 0;  // from sending a command to its reply
};

class Router {
 public:
  using Done = Connection::Done;

  Router(asio::io_context& io, RouterOptions options);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void start();
  void stop();

  // The slot map is known, every slot has a master and every master is connected.
  bool ready() const { return ready_; }
  bool is_cluster() const { return cluster_; }
  // Why not ready, naming the master or slots missing ("" when ready).
  std::string problem() const;

  // Sends args to the master serving routing_key's slot (any master for ""). done gets the reply,
  // or an error reply when no master serves the slot or the connection is down.
  void command(std::string_view routing_key, std::vector<std::string> args, Done done);

  // The same, encoded already (encode_command). replicated: done only once options.replicas
  // replicas have it, or an error when fewer had it within options.replica_timeout. Replicated
  // commands go on a connection of their own, where one WAIT covers all sent before it, so
  // waiting for replicas holds up neither other commands nor each other one by one.
  void command_encoded(std::string_view routing_key, std::string encoded, Done done,
                       bool replicated = false);
  // PING on every master: done gets "" or why one of them did not answer.
  void ping_all(std::function<void(std::string problem)> done);

  // Shard channels, each subscribed on the master of its slot, moved when the slot moves.
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  bool subscribed(const std::string& channel) const { return channels_.contains(channel); }

  std::function<void(bool ready)> on_state;
  // A master's command connection came up (before anything else is sent on it).
  std::function<void(Connection&)> on_connected;
  std::function<void(const std::string& channel, const std::string& payload)> on_message;
  std::function<void(const std::string& channel)> on_subscribed;
  // A command Redis answered NOSCRIPT (its scripts flushed): the command to send instead, or
  // nullopt to pass the error on.
  std::function<std::optional<std::string>(const std::string& encoded)> on_noscript;

  std::vector<ShardStats> stats() const;  // any thread

 private:
  struct Node;
  struct Request;
  struct Counters;
  struct ReplicaWaits;

  void send(std::shared_ptr<Request> request);
  void send_to(Node& node, std::shared_ptr<Request> request, bool asking);
  void on_reply(std::shared_ptr<Request> request, Node& node, Reply reply,
                std::chrono::steady_clock::time_point sent);
  void wait_for_replicas(Node& node);
  void retry_later(std::shared_ptr<Request> request);
  void fail(const std::shared_ptr<Request>& request, const std::string& why);

  Node& node(const HostPort& address);
  void refresh();
  void schedule_refresh(std::chrono::milliseconds after);
  void apply(SlotMap map, bool cluster);
  void drop_nodes_not_in_map();
  void retire(std::unique_ptr<Node> node);
  void place_subscriptions();
  void update_ready();

  asio::io_context& io_;
  RouterOptions options_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;  // by "host:port"
  std::vector<std::unique_ptr<Node>> retired_;          // stopping
  std::optional<SlotMap> map_;
  std::string layout_;  // the masters and their slots, as last logged
  bool cluster_ = false;
  bool ready_ = false;
  bool refreshing_ = false;
  bool stopped_ = false;
  asio::steady_timer refresh_timer_;
  std::map<std::string, std::string> channels_;  // channel -> address subscribed on ("" none)
  mutable std::mutex stats_mutex_;
  // By address: counted without the lock on the engine's thread, read under it by stats().
  std::map<std::string, std::shared_ptr<Counters>> counters_;
  std::map<std::string, std::string> slots_;  // address -> "0-5460", for the masters
};

}  // namespace chat::server::redis
