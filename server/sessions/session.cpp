#include "session.hpp"

#include <spdlog/spdlog.h>

#include "chat_v1_codec.hpp"
#include "logging.hpp"
#include "reply_frames.hpp"
#include "shard.hpp"
#include "tls_accept.hpp"
#include "tls_channel.hpp"

namespace chat::server {

Session::Session(Shard& shard, asio::ip::tcp::socket socket, std::string peer,
                 std::unique_ptr<ClientCodec> codec, std::unique_ptr<TlsChannel> tls,
                 std::string early_input)
    : shard_(shard),
      codec_(std::move(codec)),
      connection_(shard, std::move(socket), std::move(peer), std::move(tls),
                  std::move(early_input)),
      ref_{shard.index(), shard.context().next_session_id.fetch_add(1)},
      request_bucket_(shard.config().messages_per_second, shard.config().message_burst),
      byte_bucket_(shard.config().bytes_per_second, shard.config().bytes_burst) {
  connection_.set_encoder(codec_->encoder());
  shard_.add_session(*this);
  ServerStats::add(shard_.context().stats.sessions_current);
}

Session::~Session() {
  leave_everything(connection_.closing() && close_reason_ == v1::Disconnect::SLOW_CONSUMER
                       ? "slow consumer"
                       : "disconnected");
  release_nick();
  for (const auto& claimed : renaming_to_)
    shard_.context().nick_registry->release_nick(claimed, ref_.id);
  shard_.context().stats.sessions_current.fetch_sub(1, std::memory_order_relaxed);
  shard_.remove_session(*this);
}

asio::awaitable<void> Session::run() {
  co_await connection_.run(*this);
  const auto seconds =
      std::chrono::duration<double>(clock::now() - connection_.connected_at()).count();
  spdlog::info("disconnect {} session={} transport={} nick={} reason={} after {:.1f}s{}", peer(),
               ref_.id, codec_->transport(), nick_.empty() ? "-" : nick_,
               close_reason_ != v1::Disconnect::REASON_UNSPECIFIED
                   ? v1::Disconnect::Reason_Name(close_reason_)
                   : "CLIENT_CLOSED",
               seconds, close_message_.empty() ? "" : " (" + close_message_ + ")");
}

void Session::on_input(std::string_view bytes) {
  ping_sent_ = false;
  codec_->feed(bytes);
  handle_input();
}

void Session::handle_input() {
  bool more = true;
  while (more && taking_requests() && !input_blocked()) {
    if (holding_request_) {
      holding_request_ = false;
      handle(request_);
      continue;
    }
    if (held_reply_) {
      connection_.push(std::move(held_reply_));
      held_reply_ = nullptr;
      continue;
    }
    if (wait_for_rate()) break;
    more = take_input();
  }
  codec_->release_if_idle();
}

bool Session::waits_for_earlier_answers(const v1::ClientFrame& frame) const {
  if (!codec_->answers_in_order() || unanswered_ == 0) return false;
  return !(frame.has_send() && !pipelined_room_.empty() && frame.send().room() == pipelined_room_);
}

bool Session::wait_for_rate() {
  if (!codec_->delays_over_rate() || !welcomed_) return false;
  const auto now = clock::now();
  const auto wait = request_bucket_.wait_for(1, now);
  if (wait.count() <= 0) return false;
  delayed_until_ = now + wait;
  connection_.wake_watchdog();
  return true;
}

bool Session::take_input() {
  switch (codec_->next(request_)) {
    case ClientCodec::Input::need_more:
      return false;
    case ClientCodec::Input::request:
      if (waits_for_earlier_answers(request_)) {
        holding_request_ = true;
        ordering_barrier_ = true;
        return false;
      }
      handle(request_);
      return true;
    case ClientCodec::Input::unparsable:
      handle_unparsable(codec_->unparsable_payload());
      return true;
    case ClientCodec::Input::invalid:
      ++unanswered_;
      send_error(codec_->problem_request_id(), v1::Error::BAD_REQUEST, codec_->problem());
      if (welcomed_) return true;
      close_with(v1::Disconnect::PROTOCOL_ERROR, "the first frame must be Hello");
      return false;
    case ClientCodec::Input::reply:
      if (codec_->answers_in_order() && unanswered_ > 0) {
        held_reply_ = codec_->take_reply();
        ordering_barrier_ = true;
        return false;
      }
      connection_.push(codec_->take_reply());
      return true;
    case ClientCodec::Input::end:
      on_input_end();
      return false;
    case ClientCodec::Input::error:
      close_with(v1::Disconnect::PROTOCOL_ERROR, codec_->problem());
      return false;
  }
  return false;
}

void Session::on_input_end() {
  if (!taking_requests()) return;
  // A client that half-closes still gets every answer: what it sent is handled, then the
  // connection closes once the last answer is out.
  begin_draining();
  if (unanswered_ == 0) finish_draining();
}

void Session::begin_draining() {
  draining_ = true;
  drain_deadline_ = clock::now() + std::chrono::milliseconds(shard_.config().close_timeout_ms);
  connection_.wake_reader();
  connection_.wake_watchdog();
}

void Session::on_answered() {
  if (unanswered_ > 0) --unanswered_;
  if (unanswered_ > 0) return;
  if (ordering_barrier_) {
    ordering_barrier_ = false;
    connection_.wake_reader();
  }
  if (draining_) finish_draining();
}

void Session::finish_draining() {
  if (!draining_) return;
  draining_ = false;
  // Every answer is out: the rooms hear of the quit, and the nick is free, now rather than once
  // the socket has closed (which can wait a second for the client to close its side).
  if (const std::string reason = codec_->quit_reason(); !reason.empty()) {
    leave_everything(reason);
    release_nick();
  }
  if (disconnect_pending_) {
    disconnect_pending_ = false;
    disconnect_now(close_reason_, std::string(close_message_), disconnect_retry_after_ms_);
  } else {
    close_quietly();
  }
}

void Session::close_quietly() {
  if (auto last = codec_->closing_frame(v1::Disconnect::REASON_UNSPECIFIED, "")) {
    connection_.close_after(last);
  } else {
    connection_.close_after_flush();
  }
}

Connection::clock::time_point Session::on_timer(clock::time_point now) {
  const ServerConfig& config = shard_.config();
  const auto handshake_deadline =
      connection_.connected_at() + std::chrono::milliseconds(config.handshake_timeout_ms);
  const auto idle = std::chrono::milliseconds(config.idle_timeout_ms);
  const auto last_input = connection_.last_input();
  if (draining_ && now >= drain_deadline_) finish_draining();  // answers overdue: close anyway
  if (now >= delayed_until_) {
    delayed_until_ = clock::time_point::max();
    connection_.wake_reader();
  }
  if (taking_requests() && !welcomed_ && now >= handshake_deadline) {
    close_with(v1::Disconnect::HANDSHAKE_TIMEOUT, "no Hello within the handshake timeout");
  } else if (taking_requests() && now >= last_input + 2 * idle) {
    close_with(v1::Disconnect::IDLE_TIMEOUT, "nothing received within the idle timeout");
  } else if (taking_requests() && welcomed_ && now >= last_input + idle && !ping_sent_) {
    v1::ServerFrame ping;
    ping.mutable_ping()->set_nonce(static_cast<std::uint64_t>(now.time_since_epoch().count()));
    send_frame(ping);
    ping_sent_ = true;
  }
  auto next = !taking_requests() ? drain_deadline_ : last_input + (ping_sent_ ? 2 * idle : idle);
  if (!welcomed_ && taking_requests()) next = std::min(next, handshake_deadline);
  return std::min(next, delayed_until_);
}

void Session::deliver(const SharedFrame& frame) {
  if (connection_.closing()) return;
  const Outbox& outbox = connection_.outbox();
  const std::uint64_t collapses_before = outbox.counters().collapses;
  const PushResult result = connection_.push(frame);
  if (outbox.counters().collapses != collapses_before) {
    spdlog::warn("behind {} session={} nick={}: {} queued room messages replaced by Gap", peer(),
                 ref_.id, nick_, outbox.counters().messages_gapped);
  }
  if (result == PushResult::overflow) {
    spdlog::warn("slow consumer {} session={} nick={}: {} bytes queued, {} backlog collapses",
                 peer(), ref_.id, nick_, outbox.bytes(), outbox.counters().collapses);
    close_with(v1::Disconnect::SLOW_CONSUMER, "too far behind: resume to catch up");
    return;
  }
  if (result == PushResult::dropped) {
    ServerStats::add(shard_.context().stats.presence_dropped);
    if (outbox.counters().presence_dropped == 1) {
      spdlog::info("behind {} session={} nick={}: shedding presence and typing events", peer(),
                   ref_.id, nick_);
    }
    return;
  }
  // After the push: an answer that completes a drain goes out before the Disconnect.
  if (frame->priority == FramePriority::control && answers_request(*frame)) {
    codec_->on_answer(*frame);
    on_answered();
  }
}

void Session::send_frame(const v1::ServerFrame& frame) { deliver(encode_frame(frame)); }

void Session::close_with(v1::Disconnect::Reason reason, const std::string& message,
                         std::uint32_t retry_after_ms) {
  if (connection_.closing()) return;
  if (reason == v1::Disconnect::SLOW_CONSUMER) {
    draining_ = false;
    disconnect_now(reason, message, retry_after_ms);
    return;
  }
  if (disconnect_pending_) return;  // closing for another reason already
  disconnect_pending_ = true;
  close_reason_ = reason;
  close_message_ = message;
  disconnect_retry_after_ms_ = retry_after_ms;
  if (draining_) return;  // the client closed its side: the Disconnect goes out after the answers
  begin_draining();
  if (unanswered_ == 0) finish_draining();
}

void Session::disconnect_now(v1::Disconnect::Reason reason, const std::string& message,
                             std::uint32_t retry_after_ms) {
  if (connection_.closing()) return;
  close_reason_ = reason;
  close_message_ = message;
  ServerStats::add(shard_.context().stats.disconnects[reason]);
  const auto& counters = connection_.outbox().counters();
  ServerStats::add(shard_.context().stats.backlog_collapses, counters.collapses);
  ServerStats::add(shard_.context().stats.messages_gapped, counters.messages_gapped);
  if (reason == v1::Disconnect::SLOW_CONSUMER) connection_.discard_pending();
  v1::ServerFrame frame;
  auto* disconnect = frame.mutable_disconnect();
  disconnect->set_reason(reason);
  disconnect->set_message(message);
  disconnect->set_retry_after_ms(retry_after_ms);
  connection_.close_after(encode_frame(frame), codec_->closing_frame(reason, message));
}

void Session::abort() {
  draining_ = false;
  connection_.abort();
}

void Session::on_joined(const std::string& key, const std::string& room,
                        std::vector<SharedFrame> frames) {
  pending_joins_.erase(key);
  joined_[key] = room;
  shard_.local_rooms().add(key, this);
  for (const SharedFrame& frame : frames) deliver(frame);
}

void Session::on_join_failed(const std::string& key, SharedFrame error) {
  pending_joins_.erase(key);
  deliver(error);
}

void Session::release_nick() {
  if (!nick_.empty()) shard_.context().nicks.release(nick_, ref_);  // (only if still ours)
  // (Also when the claim is still on its way: the release queues behind it.)
  if (!cluster_nick_.empty()) shard_.context().nick_registry->release_nick(cluster_nick_, ref_.id);
  cluster_nick_.clear();
}

void Session::leave_everything(const std::string& reason) {
  ServerContext& context = shard_.context();
  auto leave = [&](const std::string& key) {
    shard_.local_rooms().remove(key, this);
    post_to_home(context, key, [key, who = ref_, reason](HomeRooms& rooms) {
      rooms.leave(key, who, reason, true);
    });
  };
  for (const auto& [key, room] : joined_) leave(key);
  for (const auto& key : pending_joins_) leave(key);
  joined_.clear();
  pending_joins_.clear();
}

namespace {

// What a client that speaks plain text to the TLS port is told.
SharedFrame plaintext_refusal() {
  v1::ServerFrame refusal;
  refusal.mutable_disconnect()->set_reason(v1::Disconnect::PROTOCOL_ERROR);
  refusal.mutable_disconnect()->set_message("this port speaks TLS: connect with TLS");
  return encode_frame(refusal);
}

}  // namespace

asio::awaitable<void> serve_session(Shard& shard, asio::ip::tcp::socket socket,
                                    std::shared_ptr<TlsContext> tls, CodecFactory make_codec,
                                    std::string_view plaintext_refusal) {
  std::string peer = peer_of(socket);
  asio::error_code ec;
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  std::optional<TlsAccepted> accepted;
  if (tls) {
    accepted = co_await accept_tls(shard, socket, std::move(tls), peer, plaintext_refusal);
    if (!accepted) co_return;
  }
  socket.non_blocking(true, ec);         // flush() writes without waiting
  if (shard.shutting_down()) co_return;  // accepted just before the listener closed
  auto codec = make_codec(shard);
  std::unique_ptr<TlsChannel> channel;
  std::string early_input;
  if (accepted) {
    channel = std::move(accepted->channel);
    early_input = std::move(accepted->early_plaintext);
  }
  spdlog::info("connect {} shard={} transport={}{}", peer, shard.index(), codec->transport(),
               channel ? std::string(" tls=") + std::string(channel->protocol()) : "");
  Session session(shard, std::move(socket), std::move(peer), std::move(codec), std::move(channel),
                  std::move(early_input));
  co_await session.run();
}

namespace {

std::unique_ptr<ClientCodec> chat_v1_codec(Shard& shard) {
  return std::make_unique<ChatV1Codec>(shard.config().max_frame_bytes);
}

}  // namespace

asio::awaitable<void> serve(Shard& shard, asio::ip::tcp::socket socket) {
  return serve_session(shard, std::move(socket), nullptr, chat_v1_codec, {});
}

asio::awaitable<void> serve_tls(Shard& shard, asio::ip::tcp::socket socket,
                                std::shared_ptr<TlsContext> context) {
  static const SharedFrame refusal = plaintext_refusal();  // encoded once, read by every shard
  return serve_session(shard, std::move(socket), std::move(context), chat_v1_codec, refusal->bytes);
}

FrontDoor chat_v1_front_door() {
  return {
      .name = "chat",
      .serve =
          [](Shard& shard, asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> tls) {
            return tls ? serve_tls(shard, std::move(socket), std::move(tls))
                       : serve(shard, std::move(socket));
          },
      .refusal =
          [](const Refusal& refusal) {
            v1::ServerFrame frame;
            auto* disconnect = frame.mutable_disconnect();
            disconnect->set_reason(refusal.reason);
            disconnect->set_message(refusal.message);
            disconnect->set_retry_after_ms(refusal.retry_after_ms);
            return encode_frame(frame)->bytes;
          },
  };
}

}  // namespace chat::server
