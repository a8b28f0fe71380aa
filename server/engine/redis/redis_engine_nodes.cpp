// The engine's view of the other nodes: heartbeats, presence across nodes, nicks unique across
// the cluster, and the removal of a dead node's members.
#include <spdlog/spdlog.h>

#include <utility>

#include "engine_keys.hpp"
#include "redis_connection.hpp"
#include "redis_engine.hpp"
#include "redis_router.hpp"
#include "redis_scripts.hpp"

namespace chat::server::redis {
namespace {

char change_letter(Presence::Change change) {
  switch (change) {
    case Presence::Change::joined:
      return 'J';
    case Presence::Change::left:
      return 'L';
    case Presence::Change::renamed:
      return 'N';
  }
  return 'L';
}

// What follows a presence message's first line: joined, the account flag ('1' or '0') and the real
// name; left, the quit flag and the reason; renamed, the old nick.
std::string presence_detail(const Presence& news) {
  switch (news.change) {
    case Presence::Change::joined:
      return (news.account ? "1" : "0") + news.real_name;
    case Presence::Change::left:
      return (news.quit ? "1" : "0") + news.detail;
    case Presence::Change::renamed:
      break;
  }
  return news.detail;
}

void read_presence_detail(std::string_view detail, Presence& presence) {
  if (presence.change == Presence::Change::renamed) {
    presence.detail = detail;
    return;
  }
  const bool flag = !detail.empty() && detail.front() == '1';
  if (!detail.empty()) detail.remove_prefix(1);
  if (presence.change == Presence::Change::joined) {
    presence.account = flag;
    presence.real_name = detail;
  } else {
    presence.quit = flag;
    presence.detail = detail;
  }
}

}  // namespace

// Every heartbeat: this node's key, alive for node_expiry; and a look at the nodes this one
// watches.
void RedisEngine::heartbeat() {
  beat();
  check_nodes();
  reap_nodes();
  start_sweep();
  heartbeat_timer_->expires_after(options_.heartbeat);
  heartbeat_timer_->async_wait([this](const asio::error_code& error) {
    if (!error) heartbeat();
  });
}

// The heartbeat key, then the node's entry in the set of nodes (which the reaper reads).
void RedisEngine::beat() {
  if (!heartbeats_->ready()) return;
  // GET answers the key's old value: nil after the first beat means it expired, so the other
  // nodes may have taken this one for dead and removed its members from every room.
  const std::string heartbeat = keys::node(node_id_);
  heartbeats_->command(
      heartbeat, {"SET", heartbeat, "1", "PX", std::to_string(options_.node_expiry.count()), "GET"},
      [this](Reply reply) {
        const bool expired = !reply.is_error() && reply.is_nil() && has_beaten_;
        if (expired) {
          spdlog::warn(
              "cluster: this node's heartbeat had expired; its members and nicks are recorded "
              "again");
          rejoin();
        }
        if (!reply.is_error()) has_beaten_ = true;
        enter_node_set(expired);
      });
}

// SADD answers 1 when this node was not in the set: after its first beat, a reaper took it out,
// which it does last, after removing the node's members from every room. A node that revived
// while it was being reaped may have recorded its members again before the reaper removed them
// (the rooms are other slots, so the reaper cannot check the heartbeat and remove in one step):
// it records them again now that the reaper is done, unless this beat has just done so (a Redis
// that lost everything answers both ways).
void RedisEngine::enter_node_set(bool rejoined) {
  heartbeats_->command(keys::nodes, {"SADD", keys::nodes, node_id_}, [this, rejoined](Reply reply) {
    if (reply.type != Reply::Type::integer) return;
    if (reply.integer == 1 && in_node_set_ && !rejoined) {
      spdlog::warn(
          "cluster: this node was taken for dead and removed; its members and nicks are recorded "
          "again");
      rejoin();
    }
    in_node_set_ = true;
  });
}

void RedisEngine::check_nodes() {
  if (!heartbeats_->ready()) return;  // a lost Redis says nothing about the nodes
  for (const std::string& node : watched_nodes_) {
    const std::string heartbeat = keys::node(node);
    heartbeats_->command(heartbeat, {"EXISTS", heartbeat}, [this, node](Reply reply) {
      if (reply.type != Reply::Type::integer || reply.integer != 0) return;
      if (watched_nodes_.erase(node) == 0) return;
      spdlog::warn("cluster: node {} stopped its heartbeat; its members leave", node);
      if (listener_) listener_->on_node_lost(node);
    });
  }
}

// Every node in the set whose heartbeat expired is removed: from each room it had members in,
// from the nicks its sessions held, then from the set. Each step is a command of its own (the
// keys are in different slots); a step that fails is done again by the next pass.
void RedisEngine::reap_nodes() {
  if (!heartbeats_->ready()) return;
  heartbeats_->command(keys::nodes, {"SMEMBERS", keys::nodes}, [this](Reply reply) {
    for (const Reply& node : reply.elements) {
      if (node.text == node_id_ || reaping_.contains(node.text)) continue;
      const std::string heartbeat = keys::node(node.text);
      heartbeats_->command(heartbeat, {"EXISTS", heartbeat}, [this, node = node.text](Reply alive) {
        if (alive.type != Reply::Type::integer || alive.integer != 0 || reaping_.contains(node))
          return;
        reap_node(node);
      });
    }
  });
}

void RedisEngine::reap_node(const std::string& node) {
  reaping_.insert(node);
  struct Reaping {
    std::size_t waiting = 1;  // the two reads below count as one until both are sent
    bool failed = false;
  };
  auto reaping = std::make_shared<Reaping>();
  auto step_done = [this, node, reaping](const Reply& reply) {
    if (reply.is_error()) reaping->failed = true;
    if (--reaping->waiting > 0) return;
    if (reaping->failed) {
      reaping_.erase(node);  // the next heartbeat tries again
      return;
    }
    // Last, so that a pass cut short finds the node again.
    const std::string rooms = keys::node_rooms(node);
    const std::string nicks = keys::node_nicks(node);
    heartbeats_->command(rooms, {"DEL", rooms, nicks}, [this, node](Reply deleted) {
      if (deleted.is_error()) {
        reaping_.erase(node);
        return;
      }
      heartbeats_->command(keys::nodes, {"SREM", keys::nodes, node}, [this, node](Reply removed) {
        reaping_.erase(node);
        if (!removed.is_error())
          spdlog::info("cluster: node {} is gone; its members and nicks were removed", node);
      });
    });
  };
  ++reaping->waiting;
  const std::string rooms = keys::node_rooms(node);
  heartbeats_->command(rooms, {"SMEMBERS", rooms}, [this, node, reaping, step_done](Reply reply) {
    for (const Reply& room_key : reply.elements) {
      ++reaping->waiting;
      eval_on(*heartbeats_, scripts::remove_node_members,
              keys::room_script(room_key.text, {keys::room(room_key.text), node}), step_done);
    }
    step_done(reply);
  });
  const std::string nicks = keys::node_nicks(node);
  heartbeats_->command(nicks, {"SMEMBERS", nicks}, [this, node, reaping, step_done](Reply reply) {
    for (const Reply& nick_key : reply.elements) {
      ++reaping->waiting;
      eval_on(*heartbeats_, scripts::free_nick_of_node, {"1", keys::nick(nick_key.text), node},
              step_done);
    }
    step_done(reply);
  });
}

void RedisEngine::watch_node(const std::string& node) {
  run([this, node] {
    if (node != node_id_) watched_nodes_.insert(node);
  });
}

void RedisEngine::announce(const std::string& room_key, const std::string& room_name,
                           std::uint64_t session_id, const Presence& news, bool last_here) {
  const std::string field = node_id_ + ":" + std::to_string(session_id);
  const std::string letter(1, change_letter(news.change));
  // "P" J|L|N, node, field and nick, then the detail after a newline.
  std::string payload =
      fmt::format("P{} {} {} {}\n{}", letter, node_id_, field, news.nick, presence_detail(news));
  run([this, room_key, room_name, letter, field, nick = news.nick, payload = std::move(payload),
       joined = news.change == Presence::Change::joined, last_here]() mutable {
    // The node's set of rooms first: a node that dies right after leaves no member behind that
    // the reaper cannot find.
    if (joined) {
      const std::string rooms = keys::node_rooms(node_id_);
      commands_->command(rooms, {"SADD", rooms, room_key}, [](Reply) {});
      commands_->command(keys::room_index, {"ZADD", keys::room_index, "0", room_key}, [](Reply) {});
    }
    eval_on(*commands_, scripts::presence,
            keys::room_script(room_key, {keys::room(room_key), room_name, letter, field, nick,
                                         keys::channel(room_key), std::move(payload)}),
            [this, room_key, last_here](Reply reply) {
              if (reply.is_error()) {
                // (At shutdown the engine stops before the last members have left: no news.)
                spdlog::debug("cluster: presence not recorded: {}", reply.text);
                unsynced_rooms_.insert(room_key);
                return;
              }
              if (!last_here) return;
              const std::string rooms = keys::node_rooms(node_id_);
              commands_->command(rooms, {"SREM", rooms, room_key}, [](Reply) {});
            });
  });
}

void RedisEngine::sync_members(const std::string& room_key, const std::string& room_name,
                               std::vector<std::pair<std::uint64_t, std::string>> members) {
  run([this, room_key, room_name, members = std::move(members)] {
    send_sync(room_key, room_name, members);
  });
}

void RedisEngine::send_sync(const std::string& room_key, const std::string& room_name,
                            const std::vector<std::pair<std::uint64_t, std::string>>& members) {
  std::vector<std::string> args = keys::room_script(
      room_key, {keys::room(room_key), room_name, keys::channel(room_key), node_id_});
  for (const auto& [session_id, nick] : members) {
    args.push_back(node_id_ + ":" + std::to_string(session_id));
    args.push_back(nick);
  }
  unsynced_rooms_.erase(room_key);
  const std::string rooms = keys::node_rooms(node_id_);
  if (!members.empty()) {
    commands_->command(rooms, {"SADD", rooms, room_key}, [](Reply) {});
    commands_->command(keys::room_index, {"ZADD", keys::room_index, "0", room_key}, [](Reply) {});
  }
  eval_on(*commands_, scripts::sync_members, std::move(args), [this, room_key, rooms](Reply reply) {
    if (reply.is_error()) {
      unsynced_rooms_.insert(room_key);
      return;
    }
    if (reply.integer == 0) commands_->command(rooms, {"SREM", rooms, room_key}, [](Reply) {});
  });
}

void RedisEngine::sync_unfollowed_rooms() {
  for (const std::string& room_key : std::set<std::string>(unsynced_rooms_)) {
    if (!commands_->subscribed(keys::channel(room_key))) send_sync(room_key, room_key, {});
  }
}

void RedisEngine::on_presence(const std::string& room_key, std::string_view payload) {
  // "PJ node field nick\ndetail", J for joined, L for left, N for a new nick
  const auto newline = payload.find('\n');
  const std::string_view head = payload.substr(0, newline);
  if (head.size() < 2) return;
  Presence presence;
  if (head[1] == 'J') {
    presence.change = Presence::Change::joined;
  } else if (head[1] == 'L') {
    presence.change = Presence::Change::left;
  } else if (head[1] == 'N') {
    presence.change = Presence::Change::renamed;
  } else {
    return;
  }
  const auto first = head.find(' ');
  const auto second = head.find(' ', first + 1);
  const auto third = head.find(' ', second + 1);
  if (first == std::string_view::npos || second == std::string_view::npos ||
      third == std::string_view::npos)
    return;
  presence.node = head.substr(first + 1, second - first - 1);
  presence.field = head.substr(second + 1, third - second - 1);
  presence.nick = head.substr(third + 1);
  if (newline != std::string_view::npos)
    read_presence_detail(payload.substr(newline + 1), presence);
  if (presence.node == node_id_ || !listener_) return;
  if (presence.change == Presence::Change::joined) watched_nodes_.insert(presence.node);
  listener_->on_presence(room_key, std::move(presence));
}

void RedisEngine::claim_nick(const std::string& nick_key, std::uint64_t session_id,
                             std::function<void(storage::WriteResult)> done) {
  run([this, nick_key, session_id, done = std::move(done)]() mutable {
    if (const auto held = claims_.find(nick_key);
        held != claims_.end() && held->second != session_id)
      return done({.ok = false, .error = {}});  // another session of this node holds it
    send_claim(nick_key, session_id,
               [this, nick_key, session_id, done = std::move(done)](std::optional<bool> claimed,
                                                                    std::string error) {
                 if (!claimed) {
                   // It may have taken effect before the connection dropped; the session will
                   // not use it.
                   send_release(nick_key, session_id);
                   return done({.ok = false, .error = std::move(error)});
                 }
                 if (*claimed) claims_[nick_key] = session_id;
                 done({.ok = *claimed, .error = {}});
               });
  });
}

void RedisEngine::release_nick(const std::string& nick_key, std::uint64_t session_id) {
  run([this, nick_key, session_id] { send_release(nick_key, session_id); });
}

void RedisEngine::send_claim(const std::string& nick_key, std::uint64_t session_id,
                             std::function<void(std::optional<bool>, std::string)> done) {
  // The heartbeat is renewed first, so the claim counts from the start; nil means it had expired
  // (not right after a rejoin: its own claims find the heartbeat Redis lost).
  const std::string heartbeat = keys::node(node_id_);
  heartbeats_->command(
      heartbeat, {"SET", heartbeat, "1", "PX", std::to_string(options_.node_expiry.count()), "GET"},
      [this](Reply reply) {
        if (!reply.is_nil() || !has_beaten_ ||
            std::chrono::steady_clock::now() - last_rejoin_ < std::chrono::seconds(1))
          return;
        spdlog::warn(
            "cluster: this node's heartbeat had expired; its members and nicks are recorded again");
        rejoin();
      });
  const std::string owner = node_id_ + ":" + std::to_string(session_id);
  auto claimed = [this, nick_key, done = std::move(done)](std::optional<bool> taken,
                                                          std::string error) {
    if (taken && *taken) {
      const std::string nicks = keys::node_nicks(node_id_);
      commands_->command(nicks, {"SADD", nicks, nick_key}, [](Reply) {});
    }
    done(taken, std::move(error));
  };
  eval_on(*commands_, scripts::claim_nick, {"1", keys::nick(nick_key), owner, node_id_},
          [this, nick_key, owner, claimed = std::move(claimed)](Reply reply) mutable {
            if (reply.type != Reply::Type::array || reply.elements.size() != 2)
              return claimed(std::nullopt, reply_failure(reply));
            if (reply_number(reply.elements[0]) == 1) return claimed(true, "");
            claim_from_dead_owner(nick_key, reply.elements[1].text, owner, std::move(claimed));
          });
}

// A session of another node holds the nick: it is taken only if that node's heartbeat expired,
// and only if nobody took it since it was read.
void RedisEngine::claim_from_dead_owner(
    const std::string& nick_key, const std::string& owner, const std::string& wanted,
    std::function<void(std::optional<bool>, std::string)> done) {
  const std::string heartbeat = keys::node(owner.substr(0, owner.find(':')));
  commands_->command(heartbeat, {"EXISTS", heartbeat},
                     [this, nick_key, owner, wanted, done = std::move(done)](Reply alive) mutable {
                       if (alive.type != Reply::Type::integer)
                         return done(std::nullopt, reply_failure(alive));
                       if (alive.integer == 1) return done(false, "");
                       eval_on(*commands_, scripts::take_nick,
                               {"1", keys::nick(nick_key), owner, wanted},
                               [done = std::move(done)](Reply taken) {
                                 if (taken.type != Reply::Type::integer)
                                   return done(std::nullopt, reply_failure(taken));
                                 done(taken.integer == 1, "");
                               });
                     });
}

void RedisEngine::send_release(const std::string& nick_key, std::uint64_t session_id) {
  eval_on(*commands_, scripts::release_nick,
          {"1", keys::nick(nick_key), node_id_ + ":" + std::to_string(session_id), node_id_},
          [this, nick_key, session_id](Reply reply) {
            auto claim = claims_.find(nick_key);
            if (claim != claims_.end() && claim->second == session_id) claims_.erase(claim);
            // Not sent (Redis away): the claim would hold the nick for as long as this node lives.
            if (reply.type != Reply::Type::integer) {
              unreleased_.emplace(nick_key, session_id);
              return;
            }
            if (reply.integer == 1) {
              const std::string nicks = keys::node_nicks(node_id_);
              commands_->command(nicks, {"SREM", nicks, nick_key}, [](Reply) {});
            }
          });
}

// Redis may have lost this node's claims (restarted empty) or let another node take them (this
// one taken for dead): they are made again, and the releases Redis missed are sent.
void RedisEngine::reclaim_nicks() {
  for (const auto& [nick_key, session_id] : claims_) {
    send_claim(
        nick_key, session_id,
        [this, nick_key, session_id](std::optional<bool> claimed, const std::string&) {
          if (!claimed) return;  // Redis away again: next time
          const auto claim = claims_.find(nick_key);
          const bool still_held = claim != claims_.end() && claim->second == session_id;
          if (*claimed) {
            // Its session ended while this claim was on its way: the release went first.
            if (!still_held) send_release(nick_key, session_id);
            return;
          }
          spdlog::warn(
              "cluster: nick {} of session {} was taken on another node while Redis had lost this "
              "node's claim; both sessions keep it until one of them leaves",
              nick_key, session_id);
          if (still_held) claims_.erase(claim);
        });
  }
  for (const auto& [nick_key, session_id] : std::exchange(unreleased_, {})) {
    send_release(nick_key, session_id);
  }
}

void RedisEngine::rejoin() {
  last_rejoin_ = std::chrono::steady_clock::now();
  reclaim_nicks();  // first: a login on another node could take a nick that Redis forgot
  sync_unfollowed_rooms();
  if (listener_) listener_->on_rejoin();
}

}  // namespace chat::server::redis
