#include "redis_engine.hpp"

#include <spdlog/spdlog.h>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <random>

#include <fmt/format.h>

#include "redis_connection.hpp"
#include "redis_scripts.hpp"

namespace chat::server::redis {
namespace {

const std::string prefix = "chat:";

std::string room_prefix(const std::string& room_key) { return prefix + "r:" + room_key; }
std::string seq_key(const std::string& room_key) { return room_prefix(room_key) + ":seq"; }
std::string stream_key(const std::string& room_key) { return room_prefix(room_key) + ":log"; }
std::string ids_key(const std::string& room_key) { return room_prefix(room_key) + ":ids"; }
std::string edits_key(const std::string& room_key) { return room_prefix(room_key) + ":edits"; }
std::string topic_key(const std::string& room_key) { return room_prefix(room_key) + ":topic"; }
std::string members_key(const std::string& room_key) { return room_prefix(room_key) + ":members"; }
std::string node_key(const std::string& node) { return prefix + "node:" + node; }
constexpr auto heartbeat_interval = std::chrono::seconds(1);
constexpr auto heartbeat_ttl_ms = 5000;

std::string random_node_id() {
  std::random_device random;
  const std::uint64_t value = (std::uint64_t{random()} << 32) ^ random();
  return fmt::format("{:016x}", value);
}
std::string channel_of(const std::string& room_key) { return room_prefix(room_key); }
const std::string rooms_key = prefix + "rooms";
const std::string accounts_key = prefix + "accounts";
const std::string nicks_key = prefix + "nicks";
std::string markers_key(const std::string& account_key) { return prefix + "read:" + account_key; }

std::uint64_t to_u64(std::string_view text) {
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::uint64_t number_of(const Reply& reply) {
  if (reply.type == Reply::Type::integer) return static_cast<std::uint64_t>(reply.integer);
  return to_u64(reply.text);
}

// {{seq, message}...} -> messages with their sequences, in the order given.
std::vector<v1::RoomMessage> messages_of(const Reply& entries) {
  std::vector<v1::RoomMessage> messages;
  messages.reserve(entries.elements.size());
  for (const Reply& entry : entries.elements) {
    if (entry.elements.size() != 2) continue;
    v1::RoomMessage message;
    if (!message.ParseFromString(entry.elements[1].text)) continue;
    message.set_seq(to_u64(entry.elements[0].text));
    messages.push_back(std::move(message));
  }
  return messages;
}

std::string failure_of(const Reply& reply) {
  return reply.is_error() ? reply.text : "unexpected reply from Redis: " + reply.describe();
}

}  // namespace

RedisEngine::RedisEngine(Options options)
    : options_(std::move(options)),
      io_(std::make_unique<asio::io_context>(1)),
      node_id_(random_node_id()) {
  heartbeat_timer_ = std::make_unique<asio::steady_timer>(*io_);
  ConnectionOptions connection{.address = options_.address};
  commands_ = std::make_unique<Connection>(*io_, connection);
  heartbeats_ = std::make_unique<Connection>(*io_, connection);
  connection.subscriber = true;
  subscriptions_ = std::make_unique<Connection>(*io_, connection);
  commands_->on_state = [this](bool up) { connected_ = up; };
  // This node's heartbeat key goes first on every (re)connection: its nick claims depend on it.
  heartbeats_->on_state = [this](bool up) {
    if (up) {
      heartbeats_->command({"SET", node_key(node_id_), "1", "PX", std::to_string(heartbeat_ttl_ms)},
                           [](Reply) {});
    }
  };
  subscriptions_->on_message = [this](const std::string& channel, const std::string& payload) {
    on_published(channel, payload);
  };
  subscriptions_->on_subscribed = [this](const std::string& channel) {
    auto it = subscribing_.find(channel);
    if (it == subscribing_.end()) {
      const std::string channel_prefix = prefix + "r:";
      if (resubscribed_ && channel.starts_with(channel_prefix))
        resubscribed_(channel.substr(channel_prefix.size()));
      return;
    }
    auto waiting = std::move(it->second);
    subscribing_.erase(it);
    for (auto& subscribed : waiting) subscribed();
  };
  commands_->start();
  subscriptions_->start();
  heartbeats_->start();
  run([this] { heartbeat(); });
  thread_ = std::thread([this] {
    auto work = asio::make_work_guard(*io_);
    io_->run();
  });
  spdlog::info("storage: redis at {}:{}", options_.address.host, options_.address.port);
}

RedisEngine::~RedisEngine() {
  run([this] {
    heartbeat_timer_->cancel();
    heartbeats_->stop();
    commands_->stop();
    subscriptions_->stop();
  });
  asio::post(*io_, [this] { io_->stop(); });
  thread_.join();
  commands_.reset();
  subscriptions_.reset();
  heartbeats_.reset();
  heartbeat_timer_.reset();
}

// Every second: this node's key, alive for five; and a look at the nodes this one watches.
void RedisEngine::heartbeat() {
  heartbeats_->command({"SET", node_key(node_id_), "1", "PX", std::to_string(heartbeat_ttl_ms)},
                       [](Reply) {});
  check_nodes();
  heartbeat_timer_->expires_after(heartbeat_interval);
  heartbeat_timer_->async_wait([this](const asio::error_code& error) {
    if (!error) heartbeat();
  });
}

void RedisEngine::check_nodes() {
  if (!heartbeats_->connected()) return;  // a lost Redis says nothing about the nodes
  for (const std::string& node : watched_nodes_) {
    heartbeats_->command({"EXISTS", node_key(node)}, [this, node](Reply reply) {
      if (reply.type != Reply::Type::integer || reply.integer != 0) return;
      if (watched_nodes_.erase(node) == 0) return;
      spdlog::warn("cluster: node {} stopped its heartbeat; its members leave", node);
      if (node_lost_) node_lost_(node);
    });
  }
}

void RedisEngine::watch_node(const std::string& node) {
  run([this, node] {
    if (node != node_id_) watched_nodes_.insert(node);
  });
}

void RedisEngine::announce(const std::string& room_key, bool joined, std::uint64_t session_id,
                           const std::string& nick, const std::string& reason) {
  const std::string field = node_id_ + ":" + std::to_string(session_id);
  // "P" J|L node field nick, then the reason after a newline.
  std::string payload = std::string("P") + (joined ? "J " : "L ") + node_id_ + " " + field + " " +
                        nick + "\n" + reason;
  command({"EVAL", scripts::presence, "1", members_key(room_key), joined ? "J" : "L", field, nick,
           channel_of(room_key), std::move(payload)},
          [](Reply reply) {
            // (At shutdown the engine stops before the last members have left: no news.)
            if (reply.is_error()) spdlog::debug("cluster: presence not recorded: {}", reply.text);
          });
}

void RedisEngine::relay(const std::string& room_key, const v1::ServerFrame& event) {
  command({"PUBLISH", channel_of(room_key), "E" + node_id_ + " " + event.SerializeAsString()},
          [](Reply) {});
}

void RedisEngine::claim_nick(const std::string& nick_key, std::uint64_t session_id,
                             std::function<void(storage::WriteResult)> done) {
  command({"EVAL", scripts::claim_nick, "1", nicks_key, nick_key,
           node_id_ + ":" + std::to_string(session_id), prefix + "node:", node_id_,
           std::to_string(heartbeat_ttl_ms)},
          [done = std::move(done)](Reply reply) {
            if (reply.type != Reply::Type::integer)
              return done({.ok = false, .error = failure_of(reply)});
            done({.ok = reply.integer == 1, .error = {}});
          });
}

void RedisEngine::release_nick(const std::string& nick_key, std::uint64_t session_id) {
  command({"EVAL", scripts::release_nick, "1", nicks_key, nick_key,
           node_id_ + ":" + std::to_string(session_id)},
          [](Reply) {});
}

void RedisEngine::forget(const std::string& room_key, std::vector<std::string> fields) {
  if (fields.empty()) return;
  std::vector<std::string> args{"HDEL", members_key(room_key)};
  args.insert(args.end(), fields.begin(), fields.end());
  command(std::move(args), [](Reply) {});
}

void RedisEngine::on_presence(const std::string& room_key, std::string_view payload) {
  // "PJ node field nick\nreason"
  const auto newline = payload.find('\n');
  const std::string_view head = payload.substr(0, newline);
  Presence presence;
  presence.joined = head.size() > 1 && head[1] == 'J';
  const auto first = head.find(' ');
  const auto second = head.find(' ', first + 1);
  const auto third = head.find(' ', second + 1);
  if (first == std::string_view::npos || second == std::string_view::npos ||
      third == std::string_view::npos)
    return;
  presence.node = head.substr(first + 1, second - first - 1);
  presence.field = head.substr(second + 1, third - second - 1);
  presence.nick = head.substr(third + 1);
  if (newline != std::string_view::npos) presence.reason = payload.substr(newline + 1);
  if (presence.node == node_id_ || !presence_sink_) return;
  if (presence.joined) watched_nodes_.insert(presence.node);
  presence_sink_(room_key, std::move(presence));
}

void RedisEngine::run(std::function<void()> work) { asio::post(*io_, std::move(work)); }

void RedisEngine::command(std::vector<std::string> args, std::function<void(Reply)> done) {
  run([this, args = std::move(args), done = std::move(done)]() mutable {
    commands_->command(std::move(args), std::move(done));
  });
}

void RedisEngine::append(v1::RoomMessage message, std::string room_key, std::string sender_key,
                         std::function<void(storage::AppendResult)> done) {
  message.set_seq(0);  // the script gives it one
  const std::string dedup = message.client_msg_id() == 0
                                ? ""
                                : sender_key + "\n" + std::to_string(message.client_msg_id());
  command({"EVAL", scripts::append, "4", seq_key(room_key), stream_key(room_key), ids_key(room_key),
           rooms_key, room_key, message.room(), dedup, message.SerializeAsString(),
           channel_of(room_key), std::to_string(options_.retention_messages), sender_key},
          [this, done = std::move(done)](Reply reply) {
            storage::AppendResult result;
            if (reply.type == Reply::Type::array && reply.elements.size() == 2) {
              result.ok = true;
              result.duplicate = number_of(reply.elements[0]) == 1;
              result.seq = number_of(reply.elements[1]);
              appended_.fetch_add(1, std::memory_order_relaxed);
            } else {
              result.error = failure_of(reply);
              failed_.fetch_add(1, std::memory_order_relaxed);
            }
            done(std::move(result));
          });
}

void RedisEngine::set_topic(std::string room_key, std::string room_name, std::string topic,
                            std::function<void(storage::WriteResult)> done) {
  run([this, room_key = std::move(room_key), room_name = std::move(room_name),
       topic = std::move(topic), done = std::move(done)]() mutable {
    commands_->command({"HSETNX", rooms_key, room_key, room_name}, [](Reply) {});
    commands_->command({"SET", topic_key(room_key), topic}, [done = std::move(done)](Reply reply) {
      done({.ok = !reply.is_error(), .error = reply.is_error() ? reply.text : ""});
    });
  });
}

void RedisEngine::edit(std::string room_key, std::uint64_t seq, std::string sender_key,
                       std::string new_text, std::int64_t now_ms,
                       std::function<void(storage::EditResult)> done) {
  // Read, check the sender, write the new version: two steps, so two edits of one message at once
  // keep the later one.
  const bool removing = now_ms < 0;
  command({"EVAL", scripts::find_message, "2", stream_key(room_key), edits_key(room_key),
           std::to_string(seq)},
          [this, room_key, seq, sender_key = std::move(sender_key), new_text = std::move(new_text),
           now_ms, removing, done = std::move(done)](Reply reply) mutable {
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
              (void)now_ms;
            }
            commands_->command(
                {"HSET", edits_key(room_key), std::to_string(seq), message.SerializeAsString()},
                [done = std::move(done)](Reply written) {
                  if (written.is_error())
                    return done({.status = Status::failed, .error = written.text});
                  done({.status = Status::ok, .error = {}});
                });
          });
}

void RedisEngine::remove(std::string room_key, std::uint64_t seq, std::string sender_key,
                         std::function<void(storage::EditResult)> done) {
  edit(std::move(room_key), seq, std::move(sender_key), {}, -1, std::move(done));
}

void RedisEngine::mark_read(std::string account_key, std::string room_key, std::uint64_t seq,
                            std::function<void(storage::WriteResult)> done) {
  command(
      {"EVAL", scripts::mark_read, "1", markers_key(account_key), room_key, std::to_string(seq)},
      [done = std::move(done)](Reply reply) {
        done({.ok = !reply.is_error(), .error = reply.is_error() ? reply.text : ""});
      });
}

void RedisEngine::create_account(std::string nick_key, std::string, std::string password_hash,
                                 std::function<void(storage::CreateAccountResult)> done) {
  command({"HSETNX", accounts_key, nick_key, password_hash}, [done = std::move(done)](Reply reply) {
    using Status = storage::CreateAccountResult::Status;
    if (reply.type != Reply::Type::integer)
      return done({.status = Status::failed, .error = failure_of(reply)});
    done({.status = reply.integer == 1 ? Status::created : Status::exists, .error = {}});
  });
}

void RedisEngine::find_account(std::string nick_key,
                               std::function<void(storage::FindAccountResult)> done) {
  command({"HGET", accounts_key, nick_key}, [done = std::move(done)](Reply reply) {
    storage::FindAccountResult result;
    if (reply.is_error()) {
      result.error = reply.text;
    } else {
      result.ok = true;
      if (!reply.is_nil()) result.password_hash = reply.text;
    }
    done(std::move(result));
  });
}

void RedisEngine::history(std::string room_key, storage::HistoryQuery query,
                          std::function<void(storage::HistoryResult)> done) {
  using Kind = storage::HistoryQuery::Kind;
  const char* kind = query.kind == Kind::after    ? "after"
                     : query.kind == Kind::before ? "before"
                                                  : "latest";
  command({"EVAL", scripts::history, "2", stream_key(room_key), edits_key(room_key), kind,
           std::to_string(query.seq), std::to_string(query.limit + 1)},
          [query, done = std::move(done)](Reply reply) {
            storage::HistoryResult result;
            if (reply.type != Reply::Type::array || reply.elements.size() != 2) {
              result.error = failure_of(reply);
              return done(std::move(result));
            }
            result.ok = true;
            const std::uint64_t oldest = number_of(reply.elements[0]);
            result.messages = messages_of(reply.elements[1]);
            if (result.messages.size() > query.limit) {
              result.has_more = true;
              result.messages.pop_back();  // the one past the page, in paging order
            }
            if (query.kind != Kind::after)
              std::reverse(result.messages.begin(), result.messages.end());
            // Retention trimmed the stream below `oldest`: say so where the page reaches it.
            if (oldest > 1) {
              if (query.kind == Kind::after && query.seq + 1 < oldest) {
                result.gap = {{query.seq + 1, oldest - 1}};
              } else if (query.kind != Kind::after && !result.has_more) {
                std::uint64_t top = oldest - 1;
                if (query.kind == Kind::before) top = std::min(top, query.seq - 1);
                if (top >= 1) result.gap = {{1, top}};
              }
            }
            done(std::move(result));
          });
}

void RedisEngine::read_markers(std::string account_key,
                               std::function<void(storage::ReadMarkersResult)> done) {
  command({"EVAL", scripts::read_markers, "2", markers_key(account_key), rooms_key},
          [done = std::move(done)](Reply reply) {
            storage::ReadMarkersResult result;
            if (reply.type != Reply::Type::array) {
              result.error = failure_of(reply);
              return done(std::move(result));
            }
            result.ok = true;
            for (const Reply& row : reply.elements) {
              if (row.elements.size() != 3) continue;
              result.markers.push_back({.room_key = row.elements[0].text,
                                        .room = row.elements[1].text,
                                        .seq = to_u64(row.elements[2].text)});
            }
            std::sort(result.markers.begin(), result.markers.end(),
                      [](const auto& a, const auto& b) { return a.room_key < b.room_key; });
            done(std::move(result));
          });
}

void RedisEngine::check_writable(std::function<void(storage::WriteResult)> done) {
  command({"PING"}, [done = std::move(done)](Reply reply) {
    const bool ok = reply.type == Reply::Type::status && reply.text == "PONG";
    done({.ok = ok, .error = ok ? "" : failure_of(reply)});
  });
}

storage::StoreStats RedisEngine::stats() const {
  storage::StoreStats stats;
  stats.commits = appended_.load(std::memory_order_relaxed);
  stats.ops_committed = stats.commits;
  stats.failed_batches = failed_.load(std::memory_order_relaxed);
  return stats;
}

void RedisEngine::subscribe(const std::string& room_key, std::function<void()> subscribed) {
  run([this, channel = channel_of(room_key), subscribed = std::move(subscribed)]() mutable {
    subscribing_[channel].push_back(std::move(subscribed));
    subscriptions_->subscribe(channel);
  });
}

void RedisEngine::unsubscribe(const std::string& room_key) {
  run([this, channel = channel_of(room_key)] {
    subscribing_.erase(channel);
    subscriptions_->unsubscribe(channel);
  });
}

void RedisEngine::load_room(const std::string& room_key, std::uint32_t recent,
                            std::function<void(LoadedRoom)> done) {
  command({"EVAL", scripts::load_room, "6", seq_key(room_key), stream_key(room_key),
           edits_key(room_key), topic_key(room_key), rooms_key, members_key(room_key),
           std::to_string(std::max(recent, 1u)), room_key},
          [recent, done = std::move(done)](Reply reply) {
            LoadedRoom room;
            if (reply.type != Reply::Type::array || reply.elements.size() != 5) {
              room.error = failure_of(reply);
              return done(std::move(room));
            }
            room.ok = true;
            room.last_seq = number_of(reply.elements[0]);
            room.topic = reply.elements[1].text;
            room.name = reply.elements[2].text;
            if (recent > 0) room.recent = messages_of(reply.elements[3]);
            std::reverse(room.recent.begin(), room.recent.end());
            const auto& members = reply.elements[4].elements;
            for (std::size_t i = 0; i + 1 < members.size(); i += 2)
              room.members.emplace_back(members[i].text, members[i + 1].text);
            done(std::move(room));
          });
}

void RedisEngine::on_published(const std::string& channel, const std::string& payload) {
  const std::string channel_prefix = prefix + "r:";
  if (!channel.starts_with(channel_prefix)) return;
  // Presence starts with "P"; a message with its sequence (a digit).
  if (payload.starts_with("P")) return on_presence(channel.substr(channel_prefix.size()), payload);
  if (payload.starts_with("E")) {
    // "E<node> <ServerFrame>": an event from another node.
    const auto space = payload.find(' ');
    if (space == std::string::npos || !event_sink_) return;
    if (std::string_view(payload).substr(1, space - 1) == node_id_) return;
    v1::ServerFrame event;
    if (!event.ParseFromArray(payload.data() + space + 1,
                              static_cast<int>(payload.size() - space - 1)))
      return;
    return event_sink_(channel.substr(channel_prefix.size()), std::move(event));
  }
  const auto space = payload.find(' ');
  if (!sink_ || space == std::string::npos) return;
  v1::RoomMessage message;
  if (!message.ParseFromArray(payload.data() + space + 1,
                              static_cast<int>(payload.size() - space - 1))) {
    spdlog::warn("redis: unreadable message on {}", channel);
    return;
  }
  message.set_seq(to_u64(std::string_view(payload).substr(0, space)));
  sink_(channel.substr(channel_prefix.size()), std::move(message));
}

}  // namespace chat::server::redis
