#include "redis_engine.hpp"

#include <spdlog/spdlog.h>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <optional>
#include <random>

#include <fmt/format.h>

#include "engine_keys.hpp"
#include "redis_connection.hpp"
#include "redis_router.hpp"
#include "redis_scripts.hpp"

namespace chat::server::redis {
namespace {

std::string random_node_id() {
  std::random_device random;
  const std::uint64_t value = (std::uint64_t{random()} << 32) ^ random();
  return fmt::format("{:016x}", value);
}

// First on a connection that came up, so that every EVALSHA behind them finds its script.
void load_scripts(Connection& connection) {
  for (const scripts::Script* script : scripts::all()) {
    connection.command({"SCRIPT", "LOAD", script->body}, [](Reply reply) {
      if (reply.is_error()) spdlog::error("redis: a script did not load: {}", reply.text);
    });
  }
}

// An encoded EVALSHA call of one of the scripts as EVAL with the script's text: the same
// arguments after the SHA-1 (for a Redis that forgot its scripts).
std::optional<std::string> with_script_text(const std::string& evalsha) {
  const auto header = evalsha.find("\r\n") + 2;  // "*<count>\r\n"
  const std::string_view named = "$7\r\nEVALSHA\r\n$40\r\n";
  if (evalsha.compare(header, named.size(), named) != 0) return std::nullopt;
  const std::string_view sha = std::string_view(evalsha).substr(header + named.size(), 40);
  for (const scripts::Script* script : scripts::all()) {
    if (script->sha1 != sha) continue;
    std::string eval = evalsha.substr(0, header);
    eval += "$4\r\nEVAL\r\n$";
    eval += std::to_string(script->body.size());
    eval += "\r\n";
    eval += script->body;
    eval += "\r\n";
    eval.append(evalsha, header + named.size() + 40 + 2);
    return eval;
  }
  return std::nullopt;
}

}  // namespace

RedisEngine::RedisEngine(Options options)
    : options_(std::move(options)),
      io_(std::make_unique<asio::io_context>(1)),
      node_id_(random_node_id()) {
  heartbeat_timer_ = std::make_unique<asio::steady_timer>(*io_);
  RouterOptions routing;
  routing.seeds = options_.seeds;
  routing.subscriptions = true;
  routing.replicas = options_.acknowledge_on_replica ? 1 : 0;
  routing.replica_timeout = options_.replica_timeout;
  commands_ = std::make_unique<Router>(*io_, routing);
  routing.subscriptions = false;
  routing.replicas = 0;
  heartbeats_ = std::make_unique<Router>(*io_, routing);
  commands_->on_connected = [](Connection& connection) { load_scripts(connection); };
  commands_->on_noscript = with_script_text;
  heartbeats_->on_noscript = with_script_text;
  heartbeats_->on_connected = [](Connection& connection) { load_scripts(connection); };
  commands_->on_state = [this](bool up) {
    {
      std::lock_guard lock(connected_mutex_);
      connected_ = up;
      connected_changed_.notify_all();  // under the lock: a waiter may go right after
    }
    if (up && was_connected_) rejoin();
    if (up) was_connected_ = true;
  };
  // This node's heartbeat key goes first once every master is reachable: its nick claims depend
  // on it.
  heartbeats_->on_state = [this](bool up) {
    if (up) beat();
  };
  commands_->on_message = [this](const std::string& channel, const std::string& payload) {
    on_published(channel, payload);
  };
  commands_->on_subscribed = [this](const std::string& channel) {
    auto it = subscribing_.find(channel);
    if (it == subscribing_.end()) {
      // Subscribed again (after a reconnect, or on the master its slot moved to): what was
      // published meanwhile is read from the stream.
      if (const std::string room_key = keys::room_of_channel(channel);
          listener_ && !room_key.empty())
        listener_->on_resubscribed(room_key);
      return;
    }
    auto waiting = std::move(it->second);
    subscribing_.erase(it);
    for (auto& subscribed : waiting) subscribed();
  };
  run([this] {
    commands_->start();
    heartbeats_->start();
    heartbeat();
  });
  thread_ = std::thread([this] {
    auto work = asio::make_work_guard(*io_);
    io_->run();
  });
  std::string seeds;
  for (const HostPort& seed : options_.seeds)
    seeds += (seeds.empty() ? "" : ", ") + address_text(seed);
  spdlog::info("storage: redis at {}", seeds);
}

RedisEngine::~RedisEngine() {
  run([this] {
    heartbeat_timer_->cancel();
    heartbeats_->stop();
    commands_->stop();
  });
  asio::post(*io_, [this] { io_->stop(); });
  thread_.join();
  commands_.reset();
  heartbeats_.reset();
  heartbeat_timer_.reset();
}

void RedisEngine::listen(ClusterListener& listener) {
  run([this, listener = &listener] { listener_ = listener; });
}

bool RedisEngine::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(connected_mutex_);
  return connected_changed_.wait_for(lock, timeout, [this] { return connected(); });
}

void RedisEngine::run(std::function<void()> work) { asio::post(*io_, std::move(work)); }

void RedisEngine::command(std::string routing_key, std::vector<std::string> args,
                          std::function<void(Reply)> done) {
  run([this, routing_key = std::move(routing_key), args = std::move(args),
       done = std::move(done)]() mutable {
    commands_->command(routing_key, std::move(args), std::move(done));
  });
}

void RedisEngine::eval(const scripts::Script& script, std::vector<std::string> args,
                       std::function<void(Reply)> done) {
  run([this, &script, args = std::move(args), done = std::move(done)]() mutable {
    eval_on(*commands_, script, std::move(args), std::move(done));
  });
}

void RedisEngine::eval_on(Router& router, const scripts::Script& script,
                          std::vector<std::string> args, std::function<void(Reply)> done,
                          bool replicated) {
  // Every script names at least one key; all of them are in its first key's slot.
  const std::string routing_key = args.size() > 1 && args[0] != "0" ? args[1] : "";
  CommandEncoder call;
  call.arg("EVALSHA").arg(script.sha1);
  for (const std::string& arg : args) call.arg(arg);
  send_script(router, routing_key, std::move(call).finish(), std::move(done), replicated);
}

void RedisEngine::send_script(Router& router, std::string_view routing_key, std::string call,
                              std::function<void(Reply)> done, bool replicated) {
  router.command_encoded(routing_key, std::move(call), std::move(done), replicated);
}

void RedisEngine::check_writable(std::function<void(storage::WriteResult)> done) {
  run([this, done = std::move(done)]() mutable {
    commands_->ping_all([done = std::move(done)](std::string problem) {
      done({.ok = problem.empty(), .error = std::move(problem)});
    });
  });
}

storage::StoreStats RedisEngine::stats() const {
  storage::StoreStats stats;
  stats.commits = appended_.load(std::memory_order_relaxed);
  stats.ops_committed = stats.commits;
  stats.failed_batches = failed_.load(std::memory_order_relaxed);
  for (ShardStats& shard : commands_->stats()) {
    stats.shards.push_back({.address = shard.address,
                            .slots = shard.slots,
                            .connected = shard.connected,
                            .commands = shard.commands,
                            .errors = shard.errors,
                            .redirects = shard.redirects,
                            .reconnects = shard.reconnects,
                            .latency_seconds_sum = shard.latency_seconds_sum});
  }
  return stats;
}

void RedisEngine::append(v1::RoomMessage message, std::string room_key, std::string sender_key,
                         std::function<void(storage::AppendResult)> done) {
  const std::string seen = std::to_string(message.seq() == 0 ? 0 : message.seq() - 1);
  message.set_seq(0);  // the script gives it one
  const std::string dedup = message.client_msg_id() == 0
                                ? ""
                                : sender_key + "\n" + std::to_string(message.client_msg_id());
  // Encoded here, on the sender's shard: one string, not one per argument.
  std::string room = keys::room(room_key);
  CommandEncoder call;
  call.arg("EVALSHA").arg(scripts::append.sha1);
  keys::add_room_keys(call, room);
  call.arg(room)
      .arg(message.room())
      .arg(dedup)
      .arg(message.SerializeAsString())
      .arg(room)  // the room's channel
      .arg(sender_key)
      .arg(std::to_string(message.server_time_ms()))
      .arg(retention_max_len())
      .arg(retention_min_time())
      .arg(seen);
  run([this, room = std::move(room), call = std::move(call).finish(),
       done = std::move(done)]() mutable {
    send_script(
        *commands_, room, std::move(call),
        [this, done = std::move(done)](Reply reply) {
          storage::AppendResult result;
          if (reply.type == Reply::Type::array && reply.elements.size() == 2) {
            result.ok = true;
            result.duplicate = reply_number(reply.elements[0]) == 1;
            result.seq = reply_number(reply.elements[1]);
            appended_.fetch_add(1, std::memory_order_relaxed);
          } else {
            result.error = reply_failure(reply);
            failed_.fetch_add(1, std::memory_order_relaxed);
          }
          done(std::move(result));
        },
        options_.acknowledge_on_replica);
  });
}

void RedisEngine::set_topic(std::string room_key, std::string room_name, std::string topic,
                            std::function<void(storage::WriteResult)> done) {
  store_topic(room_key, room_name, topic, "", std::move(done));
}

void RedisEngine::set_topic_for_all(const std::string& room_key, const std::string& room_name,
                                    const v1::ServerFrame& event,
                                    std::function<void(storage::WriteResult)> done) {
  std::string payload = "T";
  event.AppendToString(&payload);
  store_topic(room_key, room_name, event.topic_changed().topic(), std::move(payload),
              std::move(done));
}

void RedisEngine::store_topic(const std::string& room_key, const std::string& room_name,
                              const std::string& topic, std::string payload,
                              std::function<void(storage::WriteResult)> done) {
  command(keys::room_index, {"ZADD", keys::room_index, "0", room_key}, [](Reply) {});
  eval(scripts::set_topic,
       keys::room_script(room_key, {keys::room(room_key), room_name, topic, keys::channel(room_key),
                                    std::move(payload)}),
       [done = std::move(done)](Reply reply) {
         done({.ok = !reply.is_error(), .error = reply.is_error() ? reply.text : ""});
       });
}

void RedisEngine::edit(std::string room_key, std::uint64_t seq, std::string sender_key,
                       std::string new_text, std::int64_t now_ms,
                       std::function<void(storage::EditResult)> done) {
  edit_attempt(std::move(room_key), seq, std::move(sender_key), std::move(new_text), now_ms < 0,
               std::move(done), 1);
}

// Read the message, check its sender, then write the new version only if nothing changed it in
// between (one script compares): an edit racing a delete cannot bring the message back.
void RedisEngine::edit_attempt(std::string room_key, std::uint64_t seq, std::string sender_key,
                               std::string new_text, bool removing,
                               std::function<void(storage::EditResult)> done, int attempt) {
  eval(scripts::find_message, keys::room_script(room_key, {std::to_string(seq)}),
       [this, room_key, seq, sender_key = std::move(sender_key), new_text = std::move(new_text),
        removing, done = std::move(done), attempt](Reply reply) mutable {
         using Status = storage::EditResult::Status;
         if (reply.is_error()) return done({.status = Status::failed, .error = reply.text});
         v1::RoomMessage message;
         if (reply.is_nil() || reply.elements.size() != 2 ||
             !message.ParseFromString(reply.elements[1].text)) {
           return done({.status = Status::not_found, .error = {}});
         }
         if (reply.elements[0].text != sender_key)
           return done({.status = Status::forbidden, .error = {}});
         if (message.deleted()) {
           return done({.status = removing ? Status::ok : Status::not_found, .error = {}});
         }
         if (removing) {
           message.set_text("");
           message.set_deleted(true);
         } else {
           message.set_text(new_text);
           message.set_edited(true);
         }
         eval_on(*commands_, scripts::replace_message,
                 keys::room_script(room_key, {std::to_string(seq), reply.elements[1].text,
                                              message.SerializeAsString()}),
                 [this, room_key, seq, sender_key, new_text, removing, done = std::move(done),
                  attempt](Reply written) mutable {
                   const std::string_view answer =
                       written.type == Reply::Type::string ? std::string_view(written.text) : "";
                   if (answer == "ok") return done({.status = Status::ok, .error = {}});
                   if (answer == "gone") return done({.status = Status::not_found, .error = {}});
                   if (answer == "changed" && attempt < 5) {
                     return edit_attempt(std::move(room_key), seq, std::move(sender_key),
                                         std::move(new_text), removing, std::move(done),
                                         attempt + 1);
                   }
                   done({.status = Status::failed,
                         .error = written.is_error() ? written.text
                                                     : "the message kept changing meanwhile"});
                 });
       });
}

void RedisEngine::remove(std::string room_key, std::uint64_t seq, std::string sender_key,
                         std::function<void(storage::EditResult)> done) {
  edit(std::move(room_key), seq, std::move(sender_key), {}, -1, std::move(done));
}

void RedisEngine::mark_read(std::string account_key, std::string room_key, std::uint64_t seq,
                            std::function<void(storage::WriteResult)> done) {
  eval(scripts::mark_read, {"1", keys::markers(account_key), room_key, std::to_string(seq)},
       [done = std::move(done)](Reply reply) {
         done({.ok = !reply.is_error(), .error = reply.is_error() ? reply.text : ""});
       });
}

void RedisEngine::create_account(std::string nick_key, std::string, std::string password_hash,
                                 std::function<void(storage::CreateAccountResult)> done) {
  const std::string key = keys::account(nick_key);
  command(key, {"SET", key, password_hash, "NX"}, [done = std::move(done)](Reply reply) {
    using Status = storage::CreateAccountResult::Status;
    if (reply.is_error()) return done({.status = Status::failed, .error = reply.text});
    done({.status = reply.is_nil() ? Status::exists : Status::created, .error = {}});
  });
}

void RedisEngine::subscribe(const std::string& room_key, std::function<void()> subscribed) {
  run([this, channel = keys::channel(room_key), subscribed = std::move(subscribed)]() mutable {
    subscribing_[channel].push_back(std::move(subscribed));
    commands_->subscribe(channel);
  });
}

void RedisEngine::unsubscribe(const std::string& room_key) {
  run([this, channel = keys::channel(room_key)] {
    subscribing_.erase(channel);
    commands_->unsubscribe(channel);
  });
}

void RedisEngine::raise_seq(const std::string& room_key, std::uint64_t seq) {
  if (seq == 0) return;
  eval(scripts::raise_seq, keys::room_script(room_key, {std::to_string(seq)}), [](Reply) {});
}

void RedisEngine::relay(const std::string& room_key, const v1::ServerFrame& event) {
  const std::string channel = keys::channel(room_key);
  command(channel, {"SPUBLISH", channel, "E" + node_id_ + " " + event.SerializeAsString()},
          [](Reply) {});
}

void RedisEngine::on_published(const std::string& channel, const std::string& payload) {
  const std::string room_key = keys::room_of_channel(channel);
  if (room_key.empty()) return;
  // Presence starts with "P"; a message with its sequence (a digit).
  if (payload.starts_with("P")) return on_presence(room_key, payload);
  if (payload.starts_with("T")) {
    // "T<ServerFrame>": a topic change, shown by every node following the room (this one too).
    v1::ServerFrame event;
    if (!listener_ ||
        !event.ParseFromArray(payload.data() + 1, static_cast<int>(payload.size() - 1)))
      return;
    return listener_->on_room_event(room_key, std::move(event));
  }
  if (payload.starts_with("E")) {
    // "E<node> <ServerFrame>": an event from another node.
    const auto space = payload.find(' ');
    if (space == std::string::npos || !listener_) return;
    if (std::string_view(payload).substr(1, space - 1) == node_id_) return;
    v1::ServerFrame event;
    if (!event.ParseFromArray(payload.data() + space + 1,
                              static_cast<int>(payload.size() - space - 1)))
      return;
    return listener_->on_room_event(room_key, std::move(event));
  }
  const auto space = payload.find(' ');
  if (!listener_ || space == std::string::npos) return;
  v1::RoomMessage message;
  if (!message.ParseFromArray(payload.data() + space + 1,
                              static_cast<int>(payload.size() - space - 1))) {
    spdlog::warn("redis: unreadable message on {}", channel);
    return;
  }
  message.set_seq(parse_u64(std::string_view(payload).substr(0, space)));
  listener_->on_message(room_key, std::move(message));
}

}  // namespace chat::server::redis
