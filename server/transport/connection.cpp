#include "connection.hpp"

#include <spdlog/spdlog.h>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <cassert>
#include <utility>

#include "logging.hpp"
#include "shard.hpp"
#include "tls_channel.hpp"

namespace chat::server {
namespace {

using asio::experimental::as_tuple;
constexpr auto use_tuple = as_tuple(asio::use_awaitable);

OutboxLimits outbox_limits(const ServerConfig& config) {
  return {.soft_bytes = config.outbox_soft_bytes,
          .hard_bytes = config.outbox_hard_bytes,
          .batch_max_frames = config.write_batch_frames,
          .batch_max_bytes = config.write_batch_bytes};
}

}  // namespace

Connection::Connection(Shard& shard, asio::ip::tcp::socket socket, std::string peer,
                       std::unique_ptr<TlsChannel> tls, std::string early_plaintext)
    : shard_(shard),
      socket_(std::move(socket)),
      peer_(std::move(peer)),
      tls_(std::move(tls)),
      early_plaintext_(std::move(early_plaintext)),
      connected_at_(clock::now()),
      last_input_(connected_at_),
      outbox_(outbox_limits(shard.config())),
      watchdog_timer_(socket_.get_executor()),
      wake_(socket_.get_executor()) {}

Connection::~Connection() { shard_.forget_flush(*this); }

asio::awaitable<void> Connection::run(Handler& handler) {
  handler_ = &handler;
  // The reader is this coroutine; the writer and the watchdog are completion handlers that exist
  // only while they wait for something (a write the socket did not take at once, a deadline), so
  // an idle connection holds one timer wait and no coroutine of theirs. run() returns once the
  // writer is done and no handler of theirs is pending, since they reference the connection.
  arm_watchdog(clock::now());
  co_await read_loop();
  while (helpers_running_ > 0 || !writer_done_) {
    if (writer_done_ && !stop_watchdog_) {
      stop_watchdog_ = true;  // reader and writer are done: nothing left to watch
      wake_watchdog();
    }
    co_await wake_.wait();
  }
  asio::error_code ignored;
  socket_.close(ignored);
}

asio::awaitable<void> Connection::read_loop() {
  // Wait for readability, then read into the shard's buffer: an idle connection holds no read
  // buffer, and the handler keeps only what it has not handled yet.
  std::vector<char>& buffer = shard_.read_buffer();
  if (!early_plaintext_.empty()) {
    handler_->on_input(early_plaintext_);
    std::string().swap(early_plaintext_);
  }
  for (bool open = true;;) {
    handler_->handle_input();
    if (handler_->input_blocked()) {
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
      last_input_ = clock::now();
      shard_.stats().bytes_in.fetch_add(n, std::memory_order_relaxed);
      std::string_view bytes(buffer.data(), n);
      if (tls_ && !decrypt(bytes)) {
        open = false;
        break;
      }
      // close_notify ends the stream, after the data that came with it.
      if (tls_ && tls_->peer_closed()) open = false;
      // Closing: read on until the client closes, so the last frame is not lost to a reset.
      if (!handler_->takes_input()) continue;
      handler_->on_input(bytes);
      if (n < buffer.size() || !open || handler_->input_blocked()) break;
    }
  }
  handler_->on_input_end();
}

template <typename Work>
auto Connection::counted_handler(const char* role, Work work) {
  ++helpers_running_;
  return [this, role, work = std::move(work)](auto&&... args) mutable {
    --helpers_running_;
    try {
      work(std::forward<decltype(args)>(args)...);
    } catch (...) {
      spdlog::error("connection {}: {} failed: {}", peer_, role,
                    describe_exception(std::current_exception()));
      abort_io();
    }
    wake_.notify();
  };
}

void Connection::drive_writer() {
  // The slow path: flush() hands over bytes the socket would not take at once; the writer writes
  // them asynchronously, then drains the queue batch by batch the same way, and at the end of a
  // closing connection sends TLS's close_notify and shuts the socket down.
  for (;;) {
    if (writer_done_ || write_in_flight_) return;
    if (!socket_.is_open()) {
      finish_writer();
      return;
    }
    if (writer_busy_) {
      start_write();
      return;
    }
    if (closing_ && !has_output() && tls_ && !tls_->failed() && !tls_closed_) {
      tls_closed_ = true;
      tls_->close();  // close_notify goes out like any other record
      continue;
    }
    if (closing_ && !has_output()) {
      asio::error_code ignored;
      socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      finish_writer();
      return;
    }
    if (!has_output()) return;  // idle until wake_writer()
    flush();
    if (!writer_busy_ && has_output()) return;  // flush() scheduled the rest
  }
}

void Connection::start_write() {
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(wire_),
                    counted_handler("writer", [this](asio::error_code ec, std::size_t) {
                      write_in_flight_ = false;
                      on_written(ec);
                    }));
}

void Connection::on_written(const asio::error_code& ec) {
  if (ec) {
    write_failed();
    finish_writer();
    return;
  }
  shard_.stats().bytes_out.fetch_add(wire_.size(), std::memory_order_relaxed);
  wire_.clear();
  if (!take_batch(wire_)) {
    writer_busy_ = false;
    // Caught up: an idle connection keeps no buffer (one that once fell behind, as an IRC client
    // does on its JOIN burst, would otherwise hold its largest backlog for good).
    std::string().swap(wire_);
  }
  drive_writer();
}

void Connection::finish_writer() {
  writer_done_ = true;
  wake_.notify();
}

void Connection::wake_writer() {
  // Later, not now: the caller is in the middle of a request or a flush.
  if (writer_posted_ || writer_done_ || write_in_flight_) return;
  writer_posted_ = true;
  asio::post(socket_.get_executor(), counted_handler("writer", [this] {
               writer_posted_ = false;
               drive_writer();
             }));
}

void Connection::arm_watchdog(clock::time_point at) {
  watchdog_timer_.expires_at(at);
  watchdog_timer_.async_wait(
      counted_handler("watchdog", [this](asio::error_code) { on_watchdog(); }));
}

void Connection::on_watchdog() {
  // Called when the deadline comes or wake_watchdog() cancelled the wait: either way it looks
  // again at what is due.
  const auto now = clock::now();
  if (stop_watchdog_) return;
  if (closing_ && now >= close_deadline_) {
    abort_io();  // ends the reader and the writer
    return;
  }
  auto next = close_deadline_;
  if (!closing_) next = handler_->on_timer(now);
  if (closing_) next = std::min(next, close_deadline_);  // on_timer may have begun closing
  arm_watchdog(std::max(next, now + std::chrono::milliseconds(1)));
}

void Connection::close_after(const SharedFrame& last, const SharedFrame& after_last) {
  if (closing_) return;
  begin_closing();
  outbox_.push_unbounded(last);
  if (after_last) outbox_.push_unbounded(after_last);
  schedule_write();
  wake_writer();
  wake_watchdog();
  wake_.notify();  // a reader waiting for its input to unblock reads on (and drops) until the end
}

void Connection::close_after_flush() {
  if (closing_) return;
  begin_closing();
  wake_writer();
  wake_watchdog();
}

void Connection::abort() {
  closing_ = true;
  close_deadline_ = clock::now();
  wake_watchdog();
}

void Connection::begin_closing() {
  closing_ = true;
  close_deadline_ = clock::now() + std::chrono::milliseconds(shard_.config().close_timeout_ms);
}

void Connection::flush() {
  assert(shard_.on_own_thread());
  flush_scheduled_ = false;
  urgent_flush_scheduled_ = false;
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

bool Connection::has_output() const { return !outbox_.empty() || (tls_ && tls_->has_output()); }

bool Connection::take_batch(std::string& out) {
  const std::size_t count = outbox_.begin_batch();
  if (!tls_) {
    append_batch(count, out);
    outbox_.complete_batch();
    return count > 0;
  }
  std::string& plaintext = shard_.tls_scratch();
  plaintext.clear();
  append_batch(count, plaintext);
  outbox_.complete_batch();
  tls_->send(plaintext);
  const std::size_t before = out.size();
  tls_->take_output(out);
  return out.size() > before;
}

void Connection::append_batch(std::size_t count, std::string& out) const {
  if (encoder_ == nullptr) {
    for (std::size_t i = 0; i < count; ++i) out.append(outbox_.frame(i).bytes);
    return;
  }
  for (std::size_t i = 0; i < count; ++i) encoder_->append(out, outbox_.frame(i));
}

bool Connection::decrypt(std::string_view& bytes) {
  std::string& plaintext = shard_.tls_scratch();
  plaintext.clear();
  if (!tls_->receive(bytes, plaintext)) {
    if (!closing_) spdlog::info("TLS error from {}: {}", peer_, tls_->failure());
    return false;
  }
  if (tls_->has_output()) schedule_write();  // an answer the TLS layer owes the peer
  bytes = plaintext;
  return true;
}

void Connection::schedule_flush(bool urgent) {
  assert(shard_.on_own_thread());
  flush_scheduled_ = true;
  urgent_flush_scheduled_ = urgent_flush_scheduled_ || urgent;
  shard_.schedule_flush(*this, urgent);
}

void Connection::write_failed() {
  outbox_.discard_pending();
  if (!closing_) begin_closing();
  writer_busy_ = false;
  wire_.clear();
  wake_writer();
  wake_watchdog();
}

void Connection::abort_io() {
  asio::error_code ignored;
  socket_.close(ignored);
  wake_writer();
  wake_.notify();
}

}  // namespace chat::server
