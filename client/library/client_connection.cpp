// The connection: connect and handshake, the read/write/send loops, and reconnecting.
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <spdlog/spdlog.h>

#include "client.hpp"
#include "client_internals.hpp"
#include "logging.hpp"
#include "tls_handshake.hpp"

namespace chat::client {
namespace {

using asio::experimental::as_tuple;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = as_tuple(asio::use_awaitable);

// Failures that another attempt cannot fix.
bool is_final(const Failure& failure) {
  return failure.code == v1::Error::INVALID_NAME || failure.code == v1::Error::AUTH_FAILED ||
         failure.code == v1::Error::FORBIDDEN || failure.code == v1::Error::BAD_REQUEST ||
         failure.code == v1::Error::UNSUPPORTED;
}

void log_failure(std::exception_ptr error) {
  if (error) spdlog::error("chat client: {}", describe_exception(error));
}

}  // namespace

asio::awaitable<Result<v1::Welcome>> Client::connect() {
  if (loops_started_ || closed_) co_return Failure{v1::Error::BAD_STATE, "connect() once only", 0};
  const std::string address = options_.host + ":" + std::to_string(options_.port);
  for (int attempt = 1;; ++attempt) {
    emit(ConnectionEvent{ConnectionState::connecting, address, {}, attempt});
    auto failure = co_await open_connection(false);
    if (!failure) break;
    const bool last = options_.connect_attempts > 0 && attempt >= options_.connect_attempts;
    if (closing_ || last || is_final(*failure) || failure->code == v1::Error::NICK_IN_USE) {
      finish_closing(failure->message);
      co_return *failure;
    }
    const auto delay = backoff_.next();
    emit(ConnectionEvent{ConnectionState::reconnecting, failure->message, delay, attempt});
    sleep_timer_.expires_after(delay);
    co_await sleep_timer_.async_wait(use_tuple);
  }
  backoff_.reset();
  emit(ConnectionEvent{ConnectionState::connected, welcome_.server_name(), {}, 0});
  loops_started_ = true;
  auto self = shared_from_this();
  asio::co_spawn(
      executor_, [self] { return self->connection_loop(); }, log_failure);
  asio::co_spawn(
      executor_, [self] { return self->write_loop(); }, log_failure);
  asio::co_spawn(
      executor_, [self] { return self->send_loop(); }, log_failure);
  co_return welcome_;
}

asio::awaitable<std::optional<Failure>> Client::open_connection(bool resume) {
  const std::uint64_t generation = ++generation_;
  const std::string address = options_.host + ":" + std::to_string(options_.port);
  asio::error_code ignored;
  socket_.close(ignored);
  decoder_ = FrameDecoder(options_.max_frame_bytes);
  out_.clear();

  asio::steady_timer deadline(executor_, options_.connect_timeout);
  auto timed_out_flag = std::make_shared<bool>(false);
  const bool& timed_out = *timed_out_flag;
  deadline.async_wait([this, generation, timed_out_flag](asio::error_code ec) {
    if (ec || generation != generation_) return;
    *timed_out_flag = true;
    asio::error_code ignore;
    socket_.close(ignore);
  });
  asio::ip::tcp::resolver resolver(executor_);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(options_.host, std::to_string(options_.port), use_tuple);
  if (resolve_error)
    co_return unavailable("cannot resolve " + options_.host + ": " + resolve_error.message());
  auto [connect_error, endpoint] = co_await asio::async_connect(socket_, endpoints, use_tuple);
  if (connect_error || timed_out || closing_) {
    deadline.cancel();
    co_return unavailable("cannot connect to " + address + ": " +
                          (timed_out ? std::string("timed out") : connect_error.message()));
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  tls_.reset();
  if (options_.tls) {
    if (auto failure = co_await start_tls(address)) {
      deadline.cancel();
      if (timed_out) co_return unavailable("TLS handshake with " + address + ": timed out");
      co_return failure;
    }
  }
  auto failure = co_await handshake(resume);
  deadline.cancel();
  if (timed_out) co_return unavailable("no Welcome from " + address + " in time");
  co_return failure;
}

asio::awaitable<std::optional<Failure>> Client::start_tls(const std::string& address) {
  try {
    if (!tls_context_) {
      tls_context_ = TlsContext::client({.ca_file = options_.ca_file, .verify = options_.verify});
    }
  } catch (const TlsError& e) {
    co_return Failure{v1::Error::UNSUPPORTED, e.what(), 0};
  }
  tls_ = std::make_unique<TlsChannel>(tls_context_, options_.host);
  TlsHandshakeResult result = co_await tls_handshake(socket_, *tls_);
  if (!result.ok) {
    // A certificate refused or a server without TLS does not get better by trying again.
    if (result.peer_sent_plaintext) {
      co_return Failure{v1::Error::UNSUPPORTED,
                        "TLS with " + address +
                            ": the server did not answer with TLS (is this its plain-text port?)",
                        0};
    }
    if (tls_->certificate_rejected())
      co_return Failure{v1::Error::UNSUPPORTED, "TLS with " + address + ": " + result.failure, 0};
    co_return unavailable("TLS with " + address + ": " + result.failure);
  }
  decoder_.feed(result.early_plaintext);
  co_return std::nullopt;
}

asio::awaitable<asio::error_code> Client::read_into_decoder() {
  if (!tls_) {
    auto [error, n] = co_await socket_.async_read_some(read_space(decoder_), use_tuple);
    if (!error) decoder_.commit(n);
    co_return error;
  }
  if (tls_->peer_closed()) co_return asio::error::eof;  // after what came with close_notify
  tls_in_.resize(16 * 1024);
  auto [error, n] = co_await socket_.async_read_some(asio::buffer(tls_in_), use_tuple);
  if (error) co_return error;
  std::string plaintext;
  if (!tls_->receive({tls_in_.data(), n}, plaintext)) {
    if (lost_reason_.empty()) lost_reason_ = "TLS error: " + tls_->failure();
    co_return asio::error::connection_aborted;
  }
  decoder_.feed(plaintext);
  if (tls_->has_output()) writer_wake_.notify();  // something the TLS layer owes the server
  co_return error;
}

std::string Client::wire_bytes(std::string frames) {
  if (!tls_) return frames;
  tls_->send(frames);
  std::string records;
  tls_->take_output(records);
  return records;
}

asio::awaitable<std::optional<Failure>> Client::handshake(bool resume) {
  v1::ClientFrame frame;
  const std::uint64_t id = next_request_id_++;
  frame.set_request_id(id);
  auto* hello = frame.mutable_hello();
  hello->set_protocol_version(1);
  hello->set_nick(nick_);
  hello->set_password(options_.password);
  hello->set_client_name(options_.client_name);
  for (auto& [key, room] : rooms_) {
    if (!resume) break;
    auto* entry = hello->add_resume();
    entry->set_room(room.name);
    entry->set_last_seen_seq(room.tracker.last_seen());
    room.ready = false;
    room.resume_until = UINT64_MAX;  // until its JoinReply says how far the replay goes
  }
  std::string bytes;
  append_frame(bytes, frame);
  bytes = wire_bytes(std::move(bytes));
  auto [write_error, written] = co_await asio::async_write(socket_, asio::buffer(bytes), use_tuple);
  if (write_error) co_return unavailable("connection lost during the handshake");

  for (;;) {
    v1::ServerFrame reply;
    const DecodeStatus status = decoder_.next(reply);
    if (status == DecodeStatus::error) {
      co_return unavailable("bad frame from the server: " +
                            std::string(describe(decoder_.error())));
    }
    if (status == DecodeStatus::frame) {
      if (reply.has_disconnect()) {
        const auto& disconnect = reply.disconnect();
        if (disconnect.retry_after_ms() > 0) {
          server_retry_after_ = std::chrono::milliseconds(disconnect.retry_after_ms());
        }
        // A protocol error (such as plain text on a TLS port) does not go away by retrying.
        if (disconnect.reason() == v1::Disconnect::PROTOCOL_ERROR)
          co_return Failure{v1::Error::UNSUPPORTED, "refused: " + disconnect.message(), 0};
        co_return unavailable("refused: " + disconnect.message());
      }
      if (reply.request_id() != id) continue;
      if (reply.has_error()) co_return failure_of(reply.error());
      if (!reply.has_welcome()) co_return unavailable("the server answered Hello without Welcome");
      welcome_ = reply.welcome();
      nick_ = welcome_.nick();
      const auto& limits = welcome_.limits();
      // Stay under the server's rate limit, which also counts requests other than sends.
      send_bucket_ = TokenBucket(limits.messages_per_second() * 0.9,
                                 std::max<double>(1, limits.message_burst() / 2));
      connected_ = true;
      co_return std::nullopt;
    }
    if (auto read_error = co_await read_into_decoder()) {
      co_return unavailable("connection lost during the handshake");
    }
  }
}

asio::awaitable<void> Client::connection_loop() {
  for (;;) {
    co_await read_loop();
    if (closing_) break;
    on_disconnected(lost_reason_);
    if (!options_.reconnect) break;
    const bool reconnected = co_await reconnect();  // (GCC 12 miscompiles co_await inside ||)
    if (!reconnected) break;
  }
  finish_closing(closing_ ? "closed" : lost_reason_);
}

asio::awaitable<void> Client::read_loop() {
  const std::uint64_t generation = generation_;
  for (;;) {
    v1::ServerFrame frame;
    DecodeStatus status;
    while ((status = decoder_.next(frame)) == DecodeStatus::frame) {
      dispatch(frame);
      if (closing_ || generation != generation_) co_return;
    }
    if (status == DecodeStatus::error) {
      lost_reason_ = "bad frame from the server: " + std::string(describe(decoder_.error()));
      break;
    }
    if (auto error = co_await read_into_decoder()) {
      if (lost_reason_.empty()) {
        lost_reason_ =
            error == asio::error::eof ? "the server closed the connection" : error.message();
      }
      break;
    }
  }
  asio::error_code ignored;
  socket_.close(ignored);
}

asio::awaitable<void> Client::write_loop() {
  while (!closed_) {
    const bool tls_owes = tls_ && tls_->has_output();
    if (!connected_ || (out_.empty() && !tls_owes)) {
      co_await writer_wake_.wait();
      continue;
    }
    std::string batch;
    batch.swap(out_);
    batch = wire_bytes(std::move(batch));
    const std::uint64_t generation = generation_;
    auto [error, n] = co_await asio::async_write(socket_, asio::buffer(batch), use_tuple);
    if (error && generation == generation_) {
      asio::error_code ignored;
      socket_.close(ignored);  // the read loop notices and reconnects
    }
  }
}

asio::awaitable<void> Client::send_loop() {
  while (!closed_) {
    const auto next = next_ready_send();
    if (!next) {
      co_await sender_wake_.wait();
      continue;
    }
    const auto now = clock::now();
    const auto wait =
        std::max<clock::duration>(send_bucket_.wait_for(1, now), send_pause_until_ - now);
    if (wait > clock::duration::zero()) {
      pace_timer_.expires_after(wait);
      co_await pace_timer_.async_wait(use_tuple);
      continue;
    }
    send_bucket_.try_take(1, now);
    transmit(*next);
  }
}

asio::awaitable<bool> Client::reconnect() {
  const std::string address = options_.host + ":" + std::to_string(options_.port);
  for (int attempt = 1; !closing_; ++attempt) {
    auto delay = backoff_.next();
    if (server_retry_after_) delay = std::max(delay, *server_retry_after_);
    server_retry_after_.reset();
    emit(ConnectionEvent{ConnectionState::reconnecting, lost_reason_, delay, attempt});
    sleep_timer_.expires_after(delay);
    co_await sleep_timer_.async_wait(use_tuple);
    if (closing_) break;
    emit(ConnectionEvent{ConnectionState::connecting, address, {}, attempt});
    auto failure = co_await open_connection(true);
    if (!failure) {
      backoff_.reset();
      lost_reason_.clear();
      emit(ConnectionEvent{ConnectionState::connected, welcome_.server_name(), {}, attempt});
      writer_wake_.notify();
      sender_wake_.notify();
      reconnected_.notify();
      co_return true;
    }
    lost_reason_ = failure->message;
    if (is_final(*failure)) break;
  }
  co_return false;
}

void Client::write(v1::ClientFrame& frame) {
  if (!connected_) return;
  append_frame(out_, frame);
  writer_wake_.notify();
}

void Client::on_disconnected(const std::string& why) {
  connected_ = false;
  fail_requests(unavailable("connection lost: " + why));
  send_requests_.clear();
  // Unacknowledged sends go out again after the reconnect; no deadline while disconnected.
  for (auto& [id, pending] : sends_) {
    if (pending->waiter.done()) continue;
    unsent_.insert(id);
    pending->waiter.timer.expires_at(clock::time_point::max());
  }
}

void Client::fail_requests(const Failure& failure) {
  for (auto& [id, waiter] : waiters_) waiter->fail(failure);
  waiters_.clear();
}

void Client::fail_everything(const Failure& failure) {
  fail_requests(failure);
  for (auto& [id, pending] : sends_) {
    if (!pending->waiter.done()) pending->waiter.fail(failure);
  }
  unsent_.clear();
}

void Client::finish_closing(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  connected_ = false;
  fail_everything(unavailable(why.empty() ? "closed" : why));
  emit(ConnectionEvent{ConnectionState::closed, why, {}, 0});
  writer_wake_.notify();
  sender_wake_.notify();
  reconnected_.notify();
  pace_timer_.cancel();
}

void Client::close() {
  if (closed_ || closing_) return;
  closing_ = true;
  asio::error_code ignored;
  socket_.close(ignored);
  sleep_timer_.cancel();
  pace_timer_.cancel();
  if (!loops_started_) finish_closing("closed");
}

}  // namespace chat::client
