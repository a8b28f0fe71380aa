// The requests a session answers. Each handler validates on the session's shard, then either
// answers at once or posts to the room's home shard, which answers by posting back.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "names.hpp"
#include "session.hpp"
#include "shard.hpp"
#include "string_field_check.hpp"
#include "wall_clock.hpp"

namespace chat::server {
void Session::send_ok(std::uint64_t id) {
  v1::ServerFrame frame;
  frame.set_request_id(id);
  frame.mutable_ok();
  send_frame(frame);
}

void Session::send_error(std::uint64_t id, v1::Error::Code code, std::string message,
                         std::uint32_t retry_after_ms) {
  v1::ServerFrame frame;
  frame.set_request_id(id);
  auto* error = frame.mutable_error();
  error->set_code(code);
  error->set_message(std::move(message));
  error->set_retry_after_ms(retry_after_ms);
  ServerStats::add(shard_.context().stats.errors[code]);
  send_frame(frame);
}

bool Session::check_message_text(std::uint64_t id, const std::string& text) {
  const auto problem = check_text(text, shard_.config().max_text_bytes);
  if (problem == NameProblem::ok) return true;
  const auto code =
      problem == NameProblem::too_long ? v1::Error::TEXT_TOO_LONG : v1::Error::INVALID_TEXT;
  send_error(id, code, "text " + std::string(describe(problem)));
  return false;
}

bool Session::within_rate(std::size_t text_bytes) {
  const auto now = clock::now();
  return request_bucket_.try_take(1, now) &&
         byte_bucket_.try_take(static_cast<double>(text_bytes), now);
}

bool Session::check_rate(std::uint64_t id, std::size_t text_bytes) {
  if (within_rate(text_bytes)) {
    rate_strikes_ = 0;
    return true;
  }
  ServerStats::add(shard_.context().stats.rate_limited);
  const auto now = clock::now();
  const auto wait = std::max(request_bucket_.wait_for(1, now),
                             byte_bucket_.wait_for(static_cast<double>(text_bytes), now));
  const auto retry_after_ms = static_cast<std::uint32_t>(wait.count());
  if (++rate_strikes_ > shard_.config().rate_limit_strikes) {
    spdlog::warn("rate limit {} session={} nick={}: {} refused requests in a row", peer(), ref_.id,
                 nick_, rate_strikes_);
    // Answered like the others, so that every request before the Disconnect has its answer.
    send_error(id, v1::Error::RATE_LIMITED, "kept sending above the rate limit: disconnecting",
               retry_after_ms);
    close_with(v1::Disconnect::RATE_LIMITED, "kept sending above the rate limit");
    return false;
  }
  send_error(id, v1::Error::RATE_LIMITED, "slow down", retry_after_ms);
  return false;
}

namespace {

// Requests whose effect later requests may depend on (the nick, membership, the account): nothing
// after one of them is read until every request so far is answered.
bool later_requests_wait(v1::ClientFrame::RequestCase request) {
  switch (request) {
    case v1::ClientFrame::kHello:
    case v1::ClientFrame::kJoin:
    case v1::ClientFrame::kSetNick:
    case v1::ClientFrame::kRegister:
      return true;
    default:
      return false;
  }
}

}  // namespace

namespace {

const StringFieldCheck& client_frame_strings() {
  static const StringFieldCheck check(*v1::ClientFrame::descriptor());
  return check;
}

// The string fields that hold a nick or a room name (INVALID_NAME); the others hold text.
bool is_name_field(std::string_view field) {
  return field == "nick" || field == "room" || field == "to" || field == "prefix";
}

}  // namespace

void Session::handle_unparsable(std::string_view payload) {
  const auto invalid = client_frame_strings().find_invalid(payload);
  if (!invalid) {
    close_with(v1::Disconnect::PROTOCOL_ERROR,
               std::string(describe(DecodeError::unparsable_frame)));
    return;
  }
  // Well formed but for a string's UTF-8: that request fails, the connection goes on.
  ++unanswered_;
  send_error(invalid->request_id,
             is_name_field(invalid->name) ? v1::Error::INVALID_NAME : v1::Error::INVALID_TEXT,
             invalid->path + " is not valid UTF-8");
}

void Session::handle(const v1::ClientFrame& frame) {
  const std::uint64_t id = frame.request_id();
  if (frame.request_case() != v1::ClientFrame::kTyping) ++unanswered_;  // Typing is not answered
  if (later_requests_wait(frame.request_case())) ordering_barrier_ = true;
  if (codec_->answers_in_order()) {
    if (frame.has_send()) {
      pipelined_room_ = frame.send().room();
    } else {
      pipelined_room_.clear();
    }
  }
  if (!welcomed_) {
    if (frame.request_case() != v1::ClientFrame::kHello) {
      send_error(id, v1::Error::BAD_STATE, "the first request must be Hello");
      close_with(v1::Disconnect::PROTOCOL_ERROR, "the first frame must be Hello");
      return;
    }
    handle_hello(id, frame.hello());
    return;
  }
  std::size_t text_bytes = 0;
  if (frame.has_send()) text_bytes = frame.send().text().size();
  if (frame.has_send_direct()) text_bytes = frame.send_direct().text().size();
  if (frame.request_case() == v1::ClientFrame::kTyping) {
    // Never answered, so never refused either: above the rate it is dropped.
    if (within_rate(0)) handle_typing(frame.typing());
    return;
  }
  if (frame.request_case() != v1::ClientFrame::kPing && !check_rate(id, text_bytes)) return;

  ServerContext& context = shard_.context();
  switch (frame.request_case()) {
    case v1::ClientFrame::kHello:
      send_error(id, v1::Error::BAD_STATE, "already welcomed");
      break;
    case v1::ClientFrame::kJoin:
      handle_join(id, frame.join());
      break;
    case v1::ClientFrame::kLeave:
      handle_leave(id, frame.leave());
      break;
    case v1::ClientFrame::kSend:
      handle_send(id, frame.send());
      break;
    case v1::ClientFrame::kSendDirect:
      handle_send_direct(id, frame.send_direct());
      break;
    case v1::ClientFrame::kDirectReceipt:
      handle_direct_receipt(id, frame.direct_receipt());
      break;
    case v1::ClientFrame::kWhois:
      handle_whois(id, frame.whois());
      break;
    case v1::ClientFrame::kSetAway:
      handle_set_away(id, frame.set_away());
      break;
    case v1::ClientFrame::kSetNick:
      handle_set_nick(id, frame.set_nick());
      break;
    case v1::ClientFrame::kListRooms:
      handle_list_rooms(id, frame.list_rooms());
      break;
    case v1::ClientFrame::kWho:
      if (const std::string* key = joined_room_key(id, frame.who().room())) {
        post_to_home(context, *key,
                     [key = *key, who = ref_, id, limit = frame.who().limit()](HomeRooms& rooms) {
                       rooms.who(key, who, id, limit);
                     });
      }
      break;
    case v1::ClientFrame::kSetTopic: {
      const auto& topic = frame.set_topic().topic();
      if (!topic.empty() && !check_message_text(id, topic)) break;  // an empty topic clears it
      if (const std::string* key = joined_room_key(id, frame.set_topic().room())) {
        post_to_home(context, *key, [key = *key, who = ref_, topic, id](HomeRooms& rooms) {
          rooms.set_topic(key, who, topic, id);
        });
      }
      break;
    }
    case v1::ClientFrame::kHistory:
      if (const std::string* key = joined_room_key(id, frame.history().room())) {
        post_to_home(context, *key,
                     [key = *key, who = ref_, query = frame.history(), id](HomeRooms& rooms) {
                       rooms.history(key, who, query, id);
                     });
      }
      break;
    case v1::ClientFrame::kTyping:
      break;  // handled above
    case v1::ClientFrame::kPing: {
      v1::ServerFrame pong;
      pong.set_request_id(id);
      pong.mutable_pong()->set_nonce(frame.ping().nonce());
      send_frame(pong);
      break;
    }
    case v1::ClientFrame::kEdit:
      handle_change(id, frame.edit().room(), frame.edit().seq(), &frame.edit().text());
      break;
    case v1::ClientFrame::kDelete:
      handle_change(id, frame.delete_().room(), frame.delete_().seq(), nullptr);
      break;
    case v1::ClientFrame::kMarkRead:
      handle_mark_read(id, frame.mark_read());
      break;
    case v1::ClientFrame::kRegister:
      handle_register(id, frame.register_());
      break;
    case v1::ClientFrame::REQUEST_NOT_SET:
      // A request of a newer protocol arrives as an unknown field; none at all is malformed.
      if (frame.GetReflection()->GetUnknownFields(frame).empty()) {
        send_error(id, v1::Error::BAD_REQUEST, "empty request: no request field is set");
      } else {
        send_error(id, v1::Error::UNSUPPORTED, "unknown request: this server does not know it");
      }
      break;
  }
}

const std::string* Session::joined_room_key(std::uint64_t id, const std::string& room) {
  if (const auto problem = check_room(room); problem != NameProblem::ok) {
    send_error(id, v1::Error::INVALID_NAME, "room name " + std::string(describe(problem)));
    return nullptr;
  }
  auto it = joined_.find(name_key(room));
  if (it == joined_.end()) {
    send_error(id, v1::Error::NOT_IN_ROOM, "not a member of " + room);
    return nullptr;
  }
  return &it->first;
}

void Session::start_join(std::uint64_t id, const std::string& room, std::uint32_t history,
                         std::optional<std::uint64_t> resume_after) {
  const std::string key = name_key(room);
  pending_joins_.insert(key);
  JoinArgs args{.room = room,
                .key = key,
                .who = ref_,
                .nick = nick_,
                .account = registered_,
                .real_name = profile_ ? profile_->real_name : std::string(),
                .request_id = id,
                .history = history,
                .resume_after = resume_after};
  post_to_home(shard_.context(), key,
               [args = std::move(args)](HomeRooms& rooms) mutable { rooms.join(std::move(args)); });
}

void Session::handle_join(std::uint64_t id, const v1::Join& join) {
  if (const auto problem = check_room(join.room()); problem != NameProblem::ok) {
    send_error(id, v1::Error::INVALID_NAME, "room name " + std::string(describe(problem)));
    return;
  }
  const std::string key = name_key(join.room());
  const ServerConfig& config = shard_.config();
  if (!joined_.contains(key) &&
      joined_.size() + pending_joins_.size() >= config.max_rooms_per_session) {
    send_error(id, v1::Error::TOO_MANY_ROOMS,
               "in " + std::to_string(config.max_rooms_per_session) + " rooms already");
    return;
  }
  const std::uint32_t history =
      join.history() < 0 ? config.history_on_join
                         : std::min<std::uint32_t>(static_cast<std::uint32_t>(join.history()),
                                                   config.history_in_memory);
  start_join(id, join.room(), history, std::nullopt);
}

void Session::handle_leave(std::uint64_t id, const v1::Leave& leave) {
  if (!leave.reason().empty() && !check_message_text(id, leave.reason())) return;
  const std::string* found = joined_room_key(id, leave.room());
  if (!found) return;
  const std::string key = *found;
  joined_.erase(key);
  shard_.local_rooms().remove(key, this);
  ServerContext& context = shard_.context();
  post_to_home(context, key,
               [key, who = ref_, reason = leave.reason().empty() ? "left" : leave.reason()](
                   HomeRooms& rooms) { rooms.leave(key, who, reason, false); });
  send_ok(id);
}

void Session::handle_send(std::uint64_t id, const v1::Send& send) {
  if (!check_message_text(id, send.text())) return;
  last_spoke_ = clock::now();
  const std::string* key = joined_room_key(id, send.room());
  if (!key) return;
  PublishArgs args{.key = *key,
                   .who = ref_,
                   .nick = nick_,
                   .text = send.text(),
                   .client_msg_id = send.client_msg_id(),
                   .action = send.action(),
                   .account = registered_,
                   .notice = send.notice(),
                   .request_id = id,
                   .received_at = std::chrono::steady_clock::now()};
  ServerStats::add(shard_.context().stats.messages_in);
  post_to_home(shard_.context(), *key, [args = std::move(args)](HomeRooms& rooms) mutable {
    rooms.publish(std::move(args));
  });
}

void Session::handle_change(std::uint64_t id, const std::string& room, std::uint64_t seq,
                            const std::string* text) {
  if (text && !check_message_text(id, *text)) return;
  const std::string* key = joined_room_key(id, room);
  if (!key) return;
  ChangeArgs args{.key = *key,
                  .who = ref_,
                  .nick = nick_,
                  .seq = seq,
                  .text = text ? *text : std::string(),
                  .remove = text == nullptr,
                  .request_id = id};
  post_to_home(shard_.context(), *key, [args = std::move(args)](HomeRooms& rooms) mutable {
    rooms.change(std::move(args));
  });
}

void Session::handle_send_direct(std::uint64_t id, const v1::SendDirect& send) {
  if (!check_message_text(id, send.text())) return;
  last_spoke_ = clock::now();
  ServerContext& context = shard_.context();
  const auto target = context.nicks.find(send.to());
  if (!target) {
    send_error(id, v1::Error::NOT_FOUND, "no one is called " + send.to());
    return;
  }
  v1::ServerFrame frame;
  auto* message = frame.mutable_direct_message();
  message->set_from(nick_);
  message->set_text(send.text());
  message->set_server_time_ms(unix_time_ms());
  message->set_client_msg_id(send.client_msg_id());
  message->set_action(send.action());
  message->set_notice(send.notice());
  v1::ServerFrame receipt;
  receipt.mutable_direct_receipt()->set_from(send.to());
  receipt.mutable_direct_receipt()->set_client_msg_id(send.client_msg_id());
  receipt.mutable_direct_receipt()->set_kind(v1::DirectReceiptEvent::DELIVERED);
  with_session(context, *target,
               [&context, frame = encode_frame(frame), receipt = std::move(receipt), sender = ref_,
                sender_key = name_key(nick_), id = send.client_msg_id()](Session& to) mutable {
                 // A resend (same sender, same client_msg_id) is delivered once; its receipt again.
                 if (to.direct_ids_.first_time(sender_key, id)) to.deliver(frame);
                 if (to.profile_) receipt.mutable_direct_receipt()->set_away(to.profile_->away);
                 send_to_session(context, sender, encode_frame(receipt));
               });
  send_ok(id);
}

void Session::handle_direct_receipt(std::uint64_t id, const v1::DirectReceipt& receipt) {
  const auto target = shard_.context().nicks.find(receipt.to());
  if (!target) {
    send_error(id, v1::Error::NOT_FOUND, "no one is called " + receipt.to());
    return;
  }
  v1::ServerFrame frame;
  frame.mutable_direct_receipt()->set_from(nick_);
  frame.mutable_direct_receipt()->set_client_msg_id(receipt.client_msg_id());
  frame.mutable_direct_receipt()->set_kind(v1::DirectReceiptEvent::READ);
  send_to_session(shard_.context(), *target, encode_frame(frame));
  send_ok(id);
}

void Session::handle_set_nick(std::uint64_t id, const v1::SetNick& set_nick) {
  const std::string& nick = set_nick.nick();
  if (const auto problem = check_nick(nick); problem != NameProblem::ok) {
    send_error(id, v1::Error::INVALID_NAME, "nick " + std::string(describe(problem)));
    return;
  }
  // A registered nick is taken only with its password, at login; a server that admits no guests
  // lets no session take an unregistered nick by renaming either.
  ServerContext& context = shard_.context();
  context.room_log->find_account(
      name_key(nick), [&context, ref = ref_, id, nick](storage::FindAccountResult found) {
        with_session(context, ref, [id, nick, found](Session& session) {
          if (!found.ok) return session.send_error(id, v1::Error::UNAVAILABLE, "try again");
          const bool same_nick = name_key(nick) == name_key(session.nick_);
          if (found.password_hash && !same_nick) {
            return session.send_error(id, v1::Error::NICK_IN_USE,
                                      nick + " is registered: connect with its password");
          }
          if (!found.password_hash && !same_nick &&
              !session.shard_.context().accounts->admits_guests()) {
            return session.send_error(
                id, v1::Error::FORBIDDEN,
                "this server admits registered nicks only: " + nick + " is not registered");
          }
          session.rename(id, nick);
        });
      });
}

void Session::rename(std::uint64_t id, const std::string& nick) {
  ServerContext& context = shard_.context();
  if (!context.nick_registry || name_key(nick) == name_key(nick_)) {
    apply_rename(id, nick);
    return;
  }
  renaming_to_.push_back(name_key(nick));
  context.nick_registry->claim_nick(
      name_key(nick), ref_.id, [&context, ref = ref_, id, nick](storage::WriteResult claimed) {
        with_session(context, ref, [id, nick, claimed](Session& session) {
          session.rename_claimed(id, nick, claimed);
        });
      });
}

void Session::rename_claimed(std::uint64_t id, const std::string& nick,
                             const storage::WriteResult& claimed) {
  NickRegistry& registry = *shard_.context().nick_registry;
  if (auto asked = std::find(renaming_to_.begin(), renaming_to_.end(), name_key(nick));
      asked != renaming_to_.end()) {
    renaming_to_.erase(asked);
  }
  if (!claimed.ok) {
    if (claimed.error.empty()) {
      send_error(id, v1::Error::NICK_IN_USE, "nick is in use on another server of the cluster");
    } else {
      send_error(id, v1::Error::UNAVAILABLE, "cannot check the nick across the cluster: try again");
    }
    return;
  }
  if (!apply_rename(id, nick)) {
    registry.release_nick(name_key(nick), ref_.id);
    return;
  }
  registry.release_nick(cluster_nick_, ref_.id);
  cluster_nick_ = name_key(nick);
}

bool Session::apply_rename(std::uint64_t id, const std::string& nick) {
  ServerContext& context = shard_.context();
  if (!context.nicks.rename(nick_, nick, ref_)) {
    send_error(id, v1::Error::NICK_IN_USE, "nick is in use");
    return false;
  }
  if (name_key(nick) != name_key(nick_)) registered_ = false;  // the account was the old nick's
  nick_ = nick;
  for (const auto& [key, room] : joined_) {
    post_to_home(context, key,
                 [key, who = ref_, nick](HomeRooms& rooms) { rooms.rename(key, who, nick); });
  }
  send_ok(id);
  return true;
}

namespace {

// The reply to ListRooms: the rooms by name, at most limit of them.
v1::ServerFrame room_list_frame(std::uint64_t id, std::vector<v1::RoomInfo> rooms,
                                std::uint32_t limit) {
  std::sort(rooms.begin(), rooms.end(),
            [](const auto& a, const auto& b) { return name_key(a.room()) < name_key(b.room()); });
  v1::ServerFrame frame;
  frame.set_request_id(id);
  auto* reply = frame.mutable_room_list();
  reply->set_truncated(rooms.size() > limit);
  for (std::size_t i = 0; i < rooms.size() && i < limit; ++i)
    *reply->add_rooms() = std::move(rooms[i]);
  return frame;
}

}  // namespace

void Session::handle_list_rooms(std::uint64_t id, const v1::ListRooms& list) {
  ServerContext& context = shard_.context();
  const std::uint32_t max = shard_.config().max_history;  // the same cap bounds a reply's size
  const std::uint32_t limit = list.limit() == 0 ? max : std::min(list.limit(), max);
  if (context.bus) {
    // Redis knows every node's rooms; one more than the limit tells whether it was truncated.
    context.bus->list_rooms(
        name_key(list.prefix()), limit + 1, [&context, who = ref_, id, limit](ListedRooms listed) {
          with_session(context, who, [id, limit, listed = std::move(listed)](Session& s) mutable {
            if (!listed.ok) {
              spdlog::warn("cluster: rooms could not be listed: {}", listed.error);
              return s.send_error(id, v1::Error::UNAVAILABLE,
                                  "the cluster store is unavailable; try again");
            }
            s.deliver(encode_frame(room_list_frame(id, std::move(listed.rooms), limit)));
          });
        });
    return;
  }
  // Scatter to every shard's home rooms, gather here; the collector lives on this shard only.
  struct Collector {
    std::vector<v1::RoomInfo> rooms;
    std::size_t pending;
  };
  auto collector = std::make_shared<Collector>(Collector{{}, context.shards.size()});
  Shard& origin = shard_;
  for (auto& shard : context.shards) {
    Shard& source = *shard;
    source.post([&source, &origin, &context, collector, prefix = name_key(list.prefix()),
                 who = ref_, id, limit] {
      origin.post([&context, collector, part = source.home_rooms().list(prefix), who, id,
                   limit]() mutable {
        std::move(part.begin(), part.end(), std::back_inserter(collector->rooms));
        if (--collector->pending > 0) return;
        if (ClientSession* session = context.shards[who.shard]->find_session(who.id))
          session->deliver(encode_frame(room_list_frame(id, std::move(collector->rooms), limit)));
      });
    });
  }
}

void Session::handle_typing(const v1::Typing& typing) {
  auto it = joined_.find(name_key(typing.room()));
  if (it == joined_.end()) return;  // typing is best effort: never answered
  ServerContext& context = shard_.context();
  post_to_home(context, it->first, [key = it->first, who = ref_, nick = nick_](HomeRooms& rooms) {
    rooms.typing(key, who, nick);
  });
}

void Session::handle_whois(std::uint64_t id, const v1::Whois& whois) {
  ServerContext& context = shard_.context();
  const auto target = context.nicks.find(whois.nick());
  if (!target) {
    send_error(id, v1::Error::NOT_FOUND, "no one is called " + whois.nick());
    return;
  }
  // Answered on the target's shard, also when the session has gone meanwhile: every request gets
  // its answer (an IRC client waits for the end of WHOIS).
  Shard& home = *context.shards[target->shard];
  home.post([&home, &context, target_id = target->id, asker = ref_, id, nick = whois.nick()] {
    v1::ServerFrame frame;
    frame.set_request_id(id);
    auto* found = dynamic_cast<Session*>(home.find_session(target_id));
    if (found) {
      found->fill_user_info(*frame.mutable_user_info());
    } else {
      frame.mutable_error()->set_code(v1::Error::NOT_FOUND);
      frame.mutable_error()->set_message("no one is called " + nick);
    }
    send_to_session(context, asker, encode_frame(frame));
  });
}

void Session::fill_user_info(v1::UserInfo& info) const {
  info.set_nick(nick_);
  info.set_account(registered_);
  if (profile_) {
    info.set_away(profile_->away);
    info.set_real_name(profile_->real_name);
  }
  for (const auto& [key, room] : joined_) info.add_rooms(room);
  const auto now = clock::now();
  const auto online =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - connection_.connected_at());
  info.set_connected_ms(unix_time_ms() - online.count());
  const auto spoke = last_spoke_ == clock::time_point() ? connection_.connected_at() : last_spoke_;
  info.set_idle_ms(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - spoke).count()));
  info.set_transport(std::string(codec_->transport()));
}

void Session::handle_set_away(std::uint64_t id, const v1::SetAway& away) {
  if (!away.message().empty() && !check_message_text(id, away.message())) return;
  if (!profile_) profile_ = std::make_unique<Profile>();
  if (profile_->away == away.message()) return send_ok(id);
  profile_->away = away.message();
  ServerContext& context = shard_.context();
  for (const auto& [key, room] : joined_) {
    post_to_home(context, key,
                 [key, who = ref_, nick = nick_, message = away.message()](HomeRooms& rooms) {
                   rooms.away(key, who, nick, message);
                 });
  }
  send_ok(id);
}

}  // namespace chat::server
