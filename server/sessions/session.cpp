#include "session.hpp"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>

#include <array>

#include "logging.hpp"
#include "reply_frames.hpp"
#include "shard.hpp"
#include "tls_channel.hpp"
#include "tls_handshake.hpp"

namespace chat::server {
namespace {

using asio::experimental::as_tuple;
constexpr auto use_tuple = as_tuple(asio::use_awaitable);

// What the decoder may keep allocated between reads (it holds only partial frames).
constexpr std::size_t idle_decoder_bytes = 512;

OutboxLimits outbox_limits(const ServerConfig& config) {
  return {.soft_bytes = config.outbox_soft_bytes,
          .hard_bytes = config.outbox_hard_bytes,
          .batch_max_frames = config.write_batch_frames,
          .batch_max_bytes = config.write_batch_bytes};
}

}  // namespace

Session::Session(Shard& shard, asio::ip::tcp::socket socket, std::string peer,
                 std::unique_ptr<TlsChannel> tls, std::string early_plaintext)
    : shard_(shard),
      socket_(std::move(socket)),
      peer_(std::move(peer)),
      tls_(std::move(tls)),
      early_plaintext_(std::move(early_plaintext)),
      ref_{shard.index(), shard.context().next_session_id.fetch_add(1)},
      connected_at_(clock::now()),
      last_activity_(connected_at_),
      decoder_(shard.config().max_frame_bytes),
      outbox_(outbox_limits(shard.config())),
      writer_wake_(socket_.get_executor()),
      watchdog_timer_(socket_.get_executor()),
      wake_(socket_.get_executor()),
      request_bucket_(shard.config().messages_per_second, shard.config().message_burst),
      byte_bucket_(shard.config().bytes_per_second, shard.config().bytes_burst) {
  shard_.add_session(*this);
  ServerStats::add(shard_.context().stats.sessions_current);
}

Session::~Session() {
  shard_.forget_flush(*this);
  leave_everything(closing_ && close_reason_ == v1::Disconnect::SLOW_CONSUMER ? "slow consumer"
                                                                              : "disconnected");
  if (!nick_.empty()) shard_.context().nicks.release(nick_, ref_);
  // (Also when the claim is still on its way: the release queues behind it.)
  if (!cluster_nick_.empty()) shard_.context().nick_registry->release_nick(cluster_nick_, ref_.id);
  for (const auto& claimed : renaming_to_)
    shard_.context().nick_registry->release_nick(claimed, ref_.id);
  shard_.context().stats.sessions_current.fetch_sub(1, std::memory_order_relaxed);
  shard_.remove_session(*this);
}

asio::awaitable<void> Session::run() {
  // The reader ends at end of stream, the writer once closing and flushed; the watchdog ends the
  // whole session at a deadline (handshake, idle, or flushing for too long) by closing the socket.
  // Writer and watchdog are spawned coroutines rather than Asio's awaitable operators, which cost
  // several kilobytes per connection in parallel-group state; run() waits for both before the
  // session (which they reference) goes away.
  const auto executor = co_await asio::this_coro::executor;
  auto on_end = [this](const char* role, std::exception_ptr error) {
    if (error) {
      spdlog::error("session={} {} failed: {}", ref_.id, role, describe_exception(error));
      abort_io();
    }
    --helpers_running_;
    if (std::string_view(role) == "writer") writer_done_ = true;
    wake_.notify();
  };
  helpers_running_ = 2;
  asio::co_spawn(executor, write_loop(), [on_end](std::exception_ptr e) { on_end("writer", e); });
  asio::co_spawn(executor, watchdog(), [on_end](std::exception_ptr e) { on_end("watchdog", e); });
  co_await read_loop();
  while (helpers_running_ > 0) {
    if (writer_done_ && !stop_watchdog_) {
      stop_watchdog_ = true;  // reader and writer are done: nothing left to watch
      wake_watchdog();
    }
    co_await wake_.wait();
  }
  asio::error_code ignored;
  socket_.close(ignored);
  const auto seconds = std::chrono::duration<double>(clock::now() - connected_at_).count();
  spdlog::info("disconnect {} session={} nick={} reason={} after {:.1f}s{}", peer_, ref_.id,
               nick_.empty() ? "-" : nick_,
               close_reason_ != v1::Disconnect::REASON_UNSPECIFIED
                   ? v1::Disconnect::Reason_Name(close_reason_)
                   : "CLIENT_CLOSED",
               seconds, close_message_.empty() ? "" : " (" + close_message_ + ")");
}

asio::awaitable<void> Session::read_loop() {
  // Wait for readability, then read into the shard's buffer: an idle session holds no read buffer,
  // and the decoder keeps only what it has not handled yet (a partial frame, or the frames behind
  // a request that must be answered first).
  std::vector<char>& buffer = shard_.read_buffer();
  if (!early_plaintext_.empty()) {
    decoder_.feed(early_plaintext_);
    std::string().swap(early_plaintext_);
  }
  for (bool open = true;;) {
    handle_buffered_requests();
    if (input_blocked()) {
      co_await wake_.wait();
      continue;
    }
    if (!open) break;
    auto [wait_error] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
    if (wait_error) break;
    for (int reads = 0; reads < 4; ++reads) {
      asio::error_code ec;
      const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        open = false;
        break;
      }
      last_activity_ = clock::now();
      ping_sent_ = false;
      shard_.stats().bytes_in.fetch_add(n, std::memory_order_relaxed);
      std::string_view bytes(buffer.data(), n);
      if (tls_ && !decrypt(bytes)) {
        open = false;
        break;
      }
      // close_notify ends the stream, after the data that came with it.
      if (tls_ && tls_->peer_closed()) open = false;
      // Closing: read on until the client closes, so the Disconnect is not lost to a reset.
      if (!taking_requests()) continue;
      decoder_.feed(bytes);
      handle_buffered_requests();
      if (n < buffer.size() || !open || input_blocked()) break;
    }
  }
  input_ended();
}

void Session::handle_buffered_requests() {
  while (taking_requests() && !input_blocked()) {
    std::string_view payload;
    const DecodeStatus status = decoder_.next_payload(payload);
    if (status == DecodeStatus::need_more) break;
    if (status == DecodeStatus::error) {
      close_with(v1::Disconnect::PROTOCOL_ERROR, std::string(describe(decoder_.error())));
      break;
    }
    if (request_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      handle(request_);
    } else {
      handle_unparsable(payload);
    }
  }
  decoder_.release_if_idle(idle_decoder_bytes);
}

void Session::input_ended() {
  if (!taking_requests()) return;
  // A client that half-closes still gets every answer: what it sent is handled, then the
  // connection closes once the last answer is out.
  draining_ = true;
  close_deadline_ = clock::now() + std::chrono::milliseconds(shard_.config().close_timeout_ms);
  wake_watchdog();
  if (unanswered_ == 0) finish_draining();
}

void Session::on_answered() {
  if (unanswered_ > 0) --unanswered_;
  if (unanswered_ > 0) return;
  if (ordering_barrier_) {
    ordering_barrier_ = false;
    wake_.notify();
  }
  if (draining_) finish_draining();
}

void Session::finish_draining() {
  if (!draining_) return;
  draining_ = false;
  if (disconnect_pending_) {
    disconnect_pending_ = false;
    disconnect_now(close_reason_, std::string(close_message_), disconnect_retry_after_ms_);
  } else {
    close_quietly();
  }
}

void Session::close_quietly() {
  if (closing_) return;
  closing_ = true;
  close_deadline_ = clock::now() + std::chrono::milliseconds(shard_.config().close_timeout_ms);
  wake_writer();
  wake_watchdog();
}

asio::awaitable<void> Session::write_loop() {
  // The slow path: flush() hands over bytes the socket would not take at once; this coroutine
  // waits until it can write them, then drains the queue batch by batch the same way.
  for (;;) {
    if (writer_busy_) {
      auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(wire_), use_tuple);
      if (ec) {
        write_failed();
        co_return;
      }
      shard_.stats().bytes_out.fetch_add(wire_.size(), std::memory_order_relaxed);
      wire_.clear();
      if (take_batch(wire_)) continue;
      writer_busy_ = false;
      if (wire_.capacity() > 64 * 1024) std::string().swap(wire_);
    }
    if (closing_ && !has_output() && tls_ && !tls_->failed() && !tls_closed_) {
      tls_closed_ = true;
      tls_->close();  // close_notify goes out like any other record
      continue;
    }
    if (closing_ && !has_output()) {
      asio::error_code ignored;
      socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (has_output()) {
      flush();
      if (writer_busy_ || !has_output()) continue;
    }
    writer_waiting_ = true;
    co_await writer_wake_.wait();
    writer_waiting_ = false;
    if (!socket_.is_open()) co_return;
  }
}

void Session::flush() {
  flush_scheduled_ = false;
  if (writer_busy_ || !socket_.is_open()) return;
  std::string& scratch = shard_.write_scratch();
  // A few batches at most, so one client with a deep queue cannot hold the shard.
  for (int round = 0; round < 4; ++round) {
    scratch.clear();
    if (!take_batch(scratch)) break;
    asio::error_code ec;
    std::size_t written = socket_.write_some(asio::buffer(scratch), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec.clear();
      written = 0;
    }
    if (ec) {
      write_failed();
      return;
    }
    shard_.stats().bytes_out.fetch_add(written, std::memory_order_relaxed);
    if (written < scratch.size()) {
      wire_.assign(scratch, written);
      writer_busy_ = true;
      wake_writer();
      return;
    }
  }
  if (has_output()) {
    schedule_write();
  } else if (closing_) {
    wake_writer();  // flushed to the end: the writer shuts the connection down
  }
}

bool Session::has_output() const { return !outbox_.empty() || (tls_ && tls_->has_output()); }

bool Session::take_batch(std::string& out) {
  const std::size_t count = outbox_.begin_batch();
  if (!tls_) {
    for (std::size_t i = 0; i < count; ++i) out.append(outbox_.frame(i).bytes);
    outbox_.complete_batch();
    return count > 0;
  }
  std::string& plaintext = shard_.tls_scratch();
  plaintext.clear();
  for (std::size_t i = 0; i < count; ++i) plaintext.append(outbox_.frame(i).bytes);
  outbox_.complete_batch();
  tls_->send(plaintext);
  const std::size_t before = out.size();
  tls_->take_output(out);
  return out.size() > before;
}

bool Session::decrypt(std::string_view& bytes) {
  std::string& plaintext = shard_.tls_scratch();
  plaintext.clear();
  if (!tls_->receive(bytes, plaintext)) {
    if (!closing_)
      spdlog::info("TLS error from {} session={}: {}", peer_, ref_.id, tls_->failure());
    return false;
  }
  if (tls_->has_output()) schedule_write();  // an answer the TLS layer owes the peer
  bytes = plaintext;
  return true;
}

void Session::schedule_write() {
  if (writer_busy_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  shard_.schedule_flush(*this);
}

void Session::write_failed() {
  outbox_.discard_pending();
  if (!closing_) {
    closing_ = true;
    close_deadline_ = clock::now() + std::chrono::milliseconds(shard_.config().close_timeout_ms);
  }
  writer_busy_ = false;
  wire_.clear();
  wake_writer();
  wake_watchdog();
}

asio::awaitable<void> Session::watchdog() {
  const ServerConfig& config = shard_.config();
  const auto handshake_deadline =
      connected_at_ + std::chrono::milliseconds(config.handshake_timeout_ms);
  for (;;) {
    const auto now = clock::now();
    const auto idle = std::chrono::milliseconds(shard_.config().idle_timeout_ms);
    if (stop_watchdog_) co_return;
    if (draining_ && now >= close_deadline_) finish_draining();  // answers overdue: close anyway
    if (closing_ && now >= close_deadline_) {
      abort_io();  // ends the reader and the writer
      co_return;
    }
    if (taking_requests() && !welcomed_ && now >= handshake_deadline) {
      close_with(v1::Disconnect::HANDSHAKE_TIMEOUT, "no Hello within the handshake timeout");
    } else if (taking_requests() && now >= last_activity_ + 2 * idle) {
      close_with(v1::Disconnect::IDLE_TIMEOUT, "nothing received within the idle timeout");
    } else if (taking_requests() && welcomed_ && now >= last_activity_ + idle && !ping_sent_) {
      v1::ServerFrame ping;
      ping.mutable_ping()->set_nonce(static_cast<std::uint64_t>(now.time_since_epoch().count()));
      send_frame(ping);
      ping_sent_ = true;
    }
    auto next =
        !taking_requests() ? close_deadline_ : last_activity_ + (ping_sent_ ? 2 * idle : idle);
    if (!welcomed_ && taking_requests()) next = std::min(next, handshake_deadline);
    watchdog_timer_.expires_at(std::max(next, now + std::chrono::milliseconds(1)));
    co_await watchdog_timer_.async_wait(use_tuple);
  }
}

void Session::wake_writer() {
  if (writer_waiting_) writer_wake_.notify();
}

void Session::wake_watchdog() { watchdog_timer_.cancel(); }

void Session::deliver(const SharedFrame& frame) {
  if (closing_) return;
  const std::uint64_t collapses_before = outbox_.counters().collapses;
  const PushResult result = outbox_.push(frame);
  if (outbox_.counters().collapses != collapses_before) {
    spdlog::warn("behind {} session={} nick={}: {} queued room messages replaced by Gap", peer_,
                 ref_.id, nick_, outbox_.counters().messages_gapped);
  }
  if (result == PushResult::overflow) {
    const auto& counters = outbox_.counters();
    spdlog::warn("slow consumer {} session={} nick={}: {} bytes queued, {} backlog collapses",
                 peer_, ref_.id, nick_, outbox_.bytes(), counters.collapses);
    close_with(v1::Disconnect::SLOW_CONSUMER, "too far behind: resume to catch up");
    return;
  }
  if (result == PushResult::dropped) {
    ServerStats::add(shard_.context().stats.presence_dropped);
    if (outbox_.counters().presence_dropped == 1) {
      spdlog::info("behind {} session={} nick={}: shedding presence and typing events", peer_,
                   ref_.id, nick_);
    }
    return;
  }
  schedule_write();
  // After the push: an answer that completes a drain goes out before the Disconnect.
  if (frame->priority == FramePriority::control && answers_request(*frame)) on_answered();
}

void Session::send_frame(const v1::ServerFrame& frame) { deliver(encode_frame(frame)); }

void Session::close_with(v1::Disconnect::Reason reason, const std::string& message,
                         std::uint32_t retry_after_ms) {
  if (closing_) return;
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
  draining_ = true;
  close_deadline_ = clock::now() + std::chrono::milliseconds(shard_.config().close_timeout_ms);
  wake_.notify();
  wake_watchdog();
  if (unanswered_ == 0) finish_draining();
}

void Session::disconnect_now(v1::Disconnect::Reason reason, const std::string& message,
                             std::uint32_t retry_after_ms) {
  if (closing_) return;
  closing_ = true;
  close_reason_ = reason;
  close_message_ = message;
  close_deadline_ = clock::now() + std::chrono::milliseconds(shard_.config().close_timeout_ms);
  ServerStats::add(shard_.context().stats.disconnects[reason]);
  const auto& counters = outbox_.counters();
  ServerStats::add(shard_.context().stats.backlog_collapses, counters.collapses);
  ServerStats::add(shard_.context().stats.messages_gapped, counters.messages_gapped);
  if (reason == v1::Disconnect::SLOW_CONSUMER) outbox_.discard_pending();
  v1::ServerFrame frame;
  auto* disconnect = frame.mutable_disconnect();
  disconnect->set_reason(reason);
  disconnect->set_message(message);
  disconnect->set_retry_after_ms(retry_after_ms);
  outbox_.push_unbounded(encode_frame(frame));
  schedule_write();
  wake_writer();
  wake_watchdog();
  wake_.notify();  // a reader waiting for answers reads on (and discards) until the client closes
}

void Session::abort_io() {
  asio::error_code ignored;
  socket_.close(ignored);
  writer_wake_.notify();
  wake_.notify();
}

void Session::abort() {
  draining_ = false;
  closing_ = true;
  close_deadline_ = clock::now();
  wake_watchdog();
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

void Session::leave_everything(const std::string& reason) {
  ServerContext& context = shard_.context();
  auto leave = [&](const std::string& key) {
    shard_.local_rooms().remove(key, this);
    post_to_home(context, key,
                 [key, who = ref_, reason](HomeRooms& rooms) { rooms.leave(key, who, reason); });
  };
  for (const auto& [key, room] : joined_) leave(key);
  for (const auto& key : pending_joins_) leave(key);
  joined_.clear();
  pending_joins_.clear();
}

namespace {

std::string peer_of(const asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? "unknown" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

asio::awaitable<void> serve(Shard& shard, asio::ip::tcp::socket socket) {
  std::string peer = peer_of(socket);
  asio::error_code ec;
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);         // flush() writes without waiting
  if (shard.shutting_down()) co_return;  // accepted just before the listener closed
  spdlog::info("connect {} shard={}", peer, shard.index());
  Session session(shard, std::move(socket), std::move(peer));
  co_await session.run();
}

asio::awaitable<void> serve_tls(Shard& shard, asio::ip::tcp::socket socket,
                                std::shared_ptr<TlsContext> context) {
  std::string peer = peer_of(socket);
  asio::error_code ec;
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  auto channel = std::make_unique<TlsChannel>(std::move(context));
  // Closing the socket at the deadline ends the handshake's pending read or write.
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(std::chrono::milliseconds(shard.config().handshake_timeout_ms));
  auto finished = std::make_shared<bool>(false);
  deadline.async_wait([&socket, finished](const asio::error_code& error) {
    if (!error && !*finished) {
      asio::error_code ignored;
      socket.close(ignored);
    }
  });
  TlsHandshakeResult handshake = co_await tls_handshake(socket, *channel);
  *finished = true;
  deadline.cancel();
  if (!handshake.ok) {
    ServerStats::add(shard.context().stats.tls_handshake_failures);
    spdlog::info("TLS handshake with {} failed: {}", peer, handshake.failure);
    if (handshake.peer_sent_plaintext && socket.is_open()) {
      v1::ServerFrame frame;
      frame.mutable_disconnect()->set_reason(v1::Disconnect::PROTOCOL_ERROR);
      frame.mutable_disconnect()->set_message("this port speaks TLS: connect with TLS");
      const SharedFrame bytes = encode_frame(frame);
      // Half-close, then read what the client still sends until it closes (a second at most):
      // closing with unread input would reset the connection and could lose the Disconnect.
      deadline.expires_after(std::chrono::seconds(1));
      deadline.async_wait([&socket](const asio::error_code& error) {
        asio::error_code ignored;
        if (!error) socket.close(ignored);
      });
      co_await asio::async_write(socket, asio::buffer(bytes->bytes), use_tuple);
      socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
      for (std::array<char, 512> sink;;) {
        auto [read_error, n] = co_await socket.async_read_some(asio::buffer(sink), use_tuple);
        if (read_error) break;
      }
      deadline.cancel();
    }
    socket.close(ec);
    co_return;
  }
  if (shard.shutting_down()) co_return;  // drained already: SERVER_SHUTDOWN went out without it
  socket.non_blocking(true, ec);
  spdlog::info("connect {} shard={} tls={}", peer, shard.index(), channel->protocol());
  Session session(shard, std::move(socket), std::move(peer), std::move(channel),
                  std::move(handshake.early_plaintext));
  co_await session.run();
}

}  // namespace chat::server
