#pragma once
// One client connection's bytes, whatever protocol they carry: the socket and its TLS channel,
// the read path, the bounded outbox with write coalescing, and the deadline that ends a closing
// connection. What the bytes mean belongs to the front end (a Connection::Handler), which turns
// them into requests and answers with frames pushed here. Everything runs on the shard's thread.
//
// A coroutine reads; the writer (for what the socket does not take at once) and the watchdog (the
// handler's deadlines, and the close deadline) are completion handlers, pending only while they
// wait for something: as coroutines of their own they cost ~2.2 KB per idle connection.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "framing.hpp"
#include "outbox.hpp"
#include "wake_signal.hpp"

namespace chat {
class TlsChannel;
}

namespace chat::server {

class Shard;

class Connection {
 public:
  using clock = std::chrono::steady_clock;

  // The front end: what the connection's bytes mean.
  class Handler {
   public:
    virtual ~Handler() = default;
    // Input arrived (decrypted already). The handler keeps what it has not handled yet.
    virtual void on_input(std::string_view bytes) = 0;
    // Handles input kept from before: called before each read and after wake_reader().
    virtual void handle_input() = 0;
    // An earlier request must take effect first: nothing more is read until wake_reader().
    virtual bool input_blocked() const = 0;
    // False once the handler takes no more input: what arrives is read and dropped, so that a
    // last frame is not lost to a reset.
    virtual bool takes_input() const = 0;
    // The client sent its last byte, or the connection failed.
    virtual void on_input_end() = 0;
    // The watchdog: called at the time it last returned (or after wake_watchdog()); returns when
    // to be called next. Not called once the connection is closing.
    virtual clock::time_point on_timer(clock::time_point now) = 0;
  };

  // How queued frames go on the wire when not as encoded (length-prefixed protobuf): a WebSocket
  // front end puts each in a WebSocket message. Called on the shard's thread, for every frame sent.
  class Encoder {
   public:
    virtual ~Encoder() = default;
    virtual void append(std::string& out, const EncodedFrame& frame) const = 0;
  };

  // peer: the client's address, for logs. tls: the channel of a TLS connection whose handshake is
  // done (nullptr: plain text), and the plaintext that arrived with the handshake's end.
  Connection(Shard& shard, asio::ip::tcp::socket socket, std::string peer,
             std::unique_ptr<TlsChannel> tls, std::string early_plaintext);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Serves the connection until it closes and every coroutine has ended.
  asio::awaitable<void> run(Handler& handler);
  // nullptr (the default): frames are sent as encoded.
  void set_encoder(const Encoder* encoder) { encoder_ = encoder; }

  // Queues a frame without waiting (nothing more once closing); flushed with the shard's next
  // flush. Inline: it runs once per member of every room message.
  PushResult push(const SharedFrame& frame) {
    const PushResult result = outbox_.push(frame);
    if (result == PushResult::queued) schedule_write(frame->priority == FramePriority::control);
    return result;
  }
  // Closing: the last frame queued (past every limit), and then after_last if any (a WebSocket
  // close), flushed, then the connection closes within close_timeout_ms. Without a frame: what is
  // queued is flushed, then it closes.
  void close_after(const SharedFrame& last, const SharedFrame& after_last = nullptr);
  void close_after_flush();
  // Drops what is queued and not written yet (a slow consumer's backlog).
  void discard_pending() { outbox_.discard_pending(); }
  // Ends the connection now, without flushing.
  void abort();
  bool closing() const { return closing_; }

  // Writes what is queued now, without waiting: copies a batch into the shard's scratch buffer and
  // sends it with one non-blocking send. What the socket does not take goes to the writer
  // coroutine, which finishes it asynchronously (and owns writing until the queue is empty).
  void flush();

  // Work of the front end's that refers to the connection and runs as a coroutine of its own (a
  // handshake waiting for a password check): run() does not return before it ended.
  void task_started() { ++helpers_running_; }
  void task_ended() {
    --helpers_running_;
    wake_.notify();
  }

  void wake_reader() { wake_.notify(); }
  void wake_watchdog() { watchdog_timer_.cancel(); }

  const std::string& peer() const { return peer_; }
  const Outbox& outbox() const { return outbox_; }
  bool uses_tls() const { return tls_ != nullptr; }
  clock::time_point connected_at() const { return connected_at_; }
  clock::time_point last_input() const { return last_input_; }

 private:
  asio::awaitable<void> read_loop();
  // The writer: does what is due, then returns; an asynchronous write calls it again when done.
  void drive_writer();
  void start_write();
  void on_written(const asio::error_code& ec);
  void finish_writer();
  // The watchdog: waits until at, then calls on_watchdog(), which arms it again.
  void arm_watchdog(clock::time_point at);
  void on_watchdog();
  // The completion handler of a writer or watchdog wait: counted in helpers_running_ until it
  // has run (run() waits for it); an exception from work is logged and ends the connection.
  template <typename Work>
  auto counted_handler(const char* role, Work work);
  void begin_closing();
  void wake_writer();
  // urgent: an answer (a control frame), flushed without the wait a busy shard puts on the
  // rest, so a client waiting for it (a sender waiting for its Ack) is not held back.
  void schedule_write(bool urgent = false) {
    if (!writer_busy_ && (!flush_scheduled_ || (urgent && !urgent_flush_scheduled_)))
      schedule_flush(urgent);
  }
  void schedule_flush(bool urgent);
  // Frames queued, or TLS records waiting to go out.
  bool has_output() const;
  // Appends the next batch of queued frames to out, as TLS records on a TLS connection. False when
  // there was nothing to send.
  bool take_batch(std::string& out);
  void append_batch(std::size_t count, std::string& out) const;
  // Decrypts what a TLS connection received; false when the connection cannot go on.
  bool decrypt(std::string_view& bytes);
  void write_failed();
  // Closes the socket: pending reads and writes end, and so do the reader and the writer.
  void abort_io();

  Shard& shard_;
  Handler* handler_ = nullptr;
  const Encoder* encoder_ = nullptr;
  asio::ip::tcp::socket socket_;
  std::string peer_;
  std::unique_ptr<TlsChannel> tls_;
  bool tls_closed_ = false;  // close_notify queued
  std::string early_plaintext_;
  bool closing_ = false;
  clock::time_point connected_at_;
  clock::time_point last_input_;
  clock::time_point close_deadline_ = clock::time_point::max();

  Outbox outbox_;
  bool flush_scheduled_ = false;
  bool urgent_flush_scheduled_ = false;
  bool writer_busy_ = false;      // the writer is sending wire_; flushes wait for it
  bool write_in_flight_ = false;  // an asynchronous write of wire_ is pending
  bool writer_posted_ = false;    // drive_writer() is posted
  std::string wire_;              // bytes the socket did not take at once
  asio::steady_timer watchdog_timer_;
  // The reader waits here while its input is blocked, then run() for the writer to finish and
  // every pending handler to run: never both at once (run() waits only after the reader ended),
  // and both check their condition again after a wake-up, so one timer serves both.
  WakeSignal wake_;
  int helpers_running_ = 0;  // pending handlers of the writer and the watchdog, and tasks
  bool writer_done_ = false;
  bool stop_watchdog_ = false;
};

}  // namespace chat::server
