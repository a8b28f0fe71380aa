#pragma once
// One client connection: a reader, a writer and a watchdog coroutine over one socket, all on the
// session's shard. The session object lives in the coroutine frame of serve() and owns its
// registrations (nick, rooms), which it gives up when the coroutines end.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "accounts.hpp"
#include "chat.pb.h"
#include "framing.hpp"
#include "outbox.hpp"
#include "seen_direct_messages.hpp"
#include "session_ref.hpp"
#include "token_bucket.hpp"
#include "wake_signal.hpp"

namespace chat {
class TlsChannel;
class TlsContext;
}  // namespace chat

namespace chat::server {

class Shard;

class Session {
 public:
  using clock = std::chrono::steady_clock;

  // tls: the channel of a TLS connection whose handshake is done (nullptr: plain text), and the
  // plaintext that arrived with the handshake's end.
  Session(Shard& shard, asio::ip::tcp::socket socket, std::string peer,
          std::unique_ptr<TlsChannel> tls = nullptr, std::string early_plaintext = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Serves the connection until it closes.
  asio::awaitable<void> run();

  SessionRef ref() const { return ref_; }
  const std::string& nick() const { return nick_; }
  const std::string& peer() const { return peer_; }
  std::size_t outbox_bytes() const { return outbox_.bytes(); }
  bool uses_tls() const { return tls_ != nullptr; }

  // Queues a frame for the client without waiting. A client too far behind is closed with
  // SLOW_CONSUMER; it leaves its rooms later, when its coroutines unwind.
  void deliver(const SharedFrame& frame);
  // Stops taking requests, waits (up to close_timeout_ms) until every request taken so far is
  // answered, then sends Disconnect{reason}, flushes what is queued and closes within
  // close_timeout_ms. SLOW_CONSUMER skips the wait and drops what is queued.
  void close_with(v1::Disconnect::Reason reason, const std::string& message,
                  std::uint32_t retry_after_ms = 0);
  // Ends the connection now, without flushing.
  void abort();
  // Writes what is queued now, without waiting: copies a batch into the shard's scratch buffer and
  // sends it with one non-blocking send. What the socket does not take goes to the writer
  // coroutine, which finishes it asynchronously (and owns writing until the queue is empty).
  void flush();

  // Answers from a room's home shard.
  void on_joined(const std::string& key, const std::string& room, std::vector<SharedFrame> frames);
  void on_join_failed(const std::string& key, SharedFrame error);

 private:
  asio::awaitable<void> read_loop();
  // Handles the requests buffered in the decoder, in order, until one that later requests depend
  // on (Hello, Join, SetNick, Register) has to be answered first.
  void handle_buffered_requests();
  // A frame protobuf refused: answered with an Error when only a string's UTF-8 was at fault.
  void handle_unparsable(std::string_view payload);
  bool taking_requests() const { return !closing_ && !draining_; }
  // An earlier request must take effect before the next one is read.
  bool input_blocked() const { return taking_requests() && ordering_barrier_ && unanswered_ > 0; }
  // The client sent its last byte (or the connection failed): answer what it asked, then close.
  void input_ended();
  // A reply or Error went out: one request fewer to wait for.
  void on_answered();
  // Every request taken was answered (or close_timeout_ms passed): Disconnect (if any) and close.
  void finish_draining();
  void disconnect_now(v1::Disconnect::Reason reason, const std::string& message,
                      std::uint32_t retry_after_ms);
  void close_quietly();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> watchdog();

  // Requests (session_requests.cpp)
  void handle(const v1::ClientFrame& frame);
  void handle_hello(std::uint64_t id, const v1::Hello& hello);
  void handle_join(std::uint64_t id, const v1::Join& join);
  void handle_leave(std::uint64_t id, const v1::Leave& leave);
  void handle_send(std::uint64_t id, const v1::Send& send);
  void handle_send_direct(std::uint64_t id, const v1::SendDirect& send);
  void handle_direct_receipt(std::uint64_t id, const v1::DirectReceipt& receipt);
  void handle_set_nick(std::uint64_t id, const v1::SetNick& set_nick);
  void rename(std::uint64_t id, const std::string& nick);
  void handle_list_rooms(std::uint64_t id, const v1::ListRooms& list);
  void handle_typing(const v1::Typing& typing);
  // text: the new text of an Edit; nullptr for a Delete.
  void handle_change(std::uint64_t id, const std::string& room, std::uint64_t seq,
                     const std::string* text);
  // session_account.cpp
  void finish_hello(std::uint64_t id, const v1::Hello& hello, const LoginResult& login);
  // Cluster mode: the nick claimed across the cluster too (or not).
  void finish_cluster_claim(std::uint64_t id, const v1::Hello& hello, const LoginResult& login,
                            const storage::WriteResult& claimed);
  void rename_claimed(std::uint64_t id, const std::string& nick,
                      const storage::WriteResult& claimed);
  // Renames on this node; false after answering NICK_IN_USE.
  bool apply_rename(std::uint64_t id, const std::string& nick);
  void welcome(std::uint64_t id, const v1::Hello& hello, const LoginResult& login);
  void handle_register(std::uint64_t id, const v1::Register& request);
  void handle_mark_read(std::uint64_t id, const v1::MarkRead& request);
  // Takes a request's tokens; false when the rate limit does not allow it now.
  bool within_rate(std::size_t text_bytes);
  // within_rate(), or false after answering RATE_LIMITED (and closing after too many in a row).
  bool check_rate(std::uint64_t id, std::size_t text_bytes);
  // False after answering TEXT_TOO_LONG or INVALID_TEXT.
  bool check_message_text(std::uint64_t id, const std::string& text);
  // The key of a room this session has joined, or nullopt after answering NOT_IN_ROOM/INVALID_NAME.
  const std::string* joined_room_key(std::uint64_t id, const std::string& room);
  void start_join(std::uint64_t id, const std::string& room, std::uint32_t history,
                  std::optional<std::uint64_t> resume_after);

  void send_frame(const v1::ServerFrame& frame);
  void send_ok(std::uint64_t id);
  void send_error(std::uint64_t id, v1::Error::Code code, std::string message,
                  std::uint32_t retry_after_ms = 0);
  void wake_writer();
  void schedule_write();
  // Frames queued, or TLS records waiting to go out.
  bool has_output() const;
  // Appends the next batch of queued frames to out, as TLS records on a TLS connection. False when
  // there was nothing to send.
  bool take_batch(std::string& out);
  // Decrypts what a TLS connection received; false when the connection cannot go on.
  bool decrypt(std::string_view& bytes);
  void write_failed();
  void wake_watchdog();
  void leave_everything(const std::string& reason);
  // Closes the socket: pending reads and writes end, and so do the reader and the writer.
  void abort_io();

  Shard& shard_;
  asio::ip::tcp::socket socket_;
  std::string peer_;
  std::unique_ptr<TlsChannel> tls_;
  bool tls_closed_ = false;  // close_notify queued
  std::string early_plaintext_;
  SessionRef ref_;
  std::string nick_;
  bool welcomed_ = false;
  bool registered_ = false;               // logged in with a registered nick's password
  std::string cluster_nick_;              // the nick key claimed in Redis (cluster mode)
  std::vector<std::string> renaming_to_;  // nick keys asked of Redis for a nick change
  // Requests taken and not answered yet (resume joins included), and whether a request that later
  // ones depend on is among them: then nothing more is read until all are answered.
  std::uint32_t unanswered_ = 0;
  bool ordering_barrier_ = false;
  // Taking no more requests; waiting for the answers to those taken, then closing.
  bool draining_ = false;
  // The Disconnect to send once drained (reason and message in close_reason_ and close_message_);
  // none when the client closed its side.
  bool disconnect_pending_ = false;
  std::uint32_t disconnect_retry_after_ms_ = 0;
  bool closing_ = false;
  v1::Disconnect::Reason close_reason_ = v1::Disconnect::REASON_UNSPECIFIED;
  std::string close_message_;
  clock::time_point connected_at_;
  clock::time_point last_activity_;
  clock::time_point close_deadline_ = clock::time_point::max();
  bool ping_sent_ = false;

  FrameDecoder decoder_;
  v1::ClientFrame request_;  // reused for every decoded request
  Outbox outbox_;
  WakeSignal writer_wake_;
  bool writer_waiting_ = false;
  bool flush_scheduled_ = false;
  bool writer_busy_ = false;  // the writer coroutine is sending wire_; flushes wait for it
  std::string wire_;          // bytes the socket did not take at once
  asio::steady_timer watchdog_timer_;
  // The reader waits here while its input is blocked, then run() for the writer and the watchdog
  // to end: never both at once (run() waits only after the reader ended), and both check their
  // condition again after a wake-up, so one timer serves both (an idle session's memory).
  WakeSignal wake_;
  int helpers_running_ = 0;
  bool writer_done_ = false;
  bool stop_watchdog_ = false;

  TokenBucket request_bucket_;
  TokenBucket byte_bucket_;
  std::uint32_t rate_strikes_ = 0;

  SeenDirectMessages direct_ids_;                        // direct messages received lately
  std::unordered_map<std::string, std::string> joined_;  // room key -> room name as joined
  std::unordered_set<std::string> pending_joins_;        // room keys asked of a home shard
};

// Accepts nothing itself: builds a Session for an accepted socket and serves it.
asio::awaitable<void> serve(Shard& shard, asio::ip::tcp::socket socket);
// The same after a TLS handshake, bounded by the handshake timeout. A client that speaks plain text
// gets a plain-text Disconnect saying the port wants TLS.
asio::awaitable<void> serve_tls(Shard& shard, asio::ip::tcp::socket socket,
                                std::shared_ptr<TlsContext> context);

}  // namespace chat::server
