#pragma once
// chat::Client: the protocol as a coroutine API on Asio, for the terminal app and the tests.
//
//   auto client = Client::create(io.get_executor(), options);
//   co_await client->connect();
//   co_await client->join("lobby");
//   auto ack = co_await client->send("lobby", "hello");   // after the server's Ack
//   for (;;) { ClientEvent event = co_await client->next_event(); ... }
//   client->close();
//
// A lost connection is re-established with backoff and jitter; every joined room is resumed from
// the last sequence seen (the server replays what was missed; replayed duplicates are dropped),
// and messages without an Ack are sent again with their client_msg_id, so the server stores them
// once. A Gap (from the server, or a hole the client notices) is filled from history and yields a
// RecoveredEvent. Not thread-safe: use a Client from one thread's executor. Its background
// coroutines hold a shared_ptr to it, so it lives until close() and their unwinding.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat.pb.h"
#include "client_options.hpp"
#include "events.hpp"
#include "framing.hpp"
#include "reconnect_backoff.hpp"
#include "result.hpp"
#include "room_tracker.hpp"
#include "tls_channel.hpp"
#include "token_bucket.hpp"
#include "wake_signal.hpp"

namespace chat::client {

class Client : public std::enable_shared_from_this<Client> {
 public:
  static std::shared_ptr<Client> create(asio::any_io_executor executor, ClientOptions options) {
    return std::make_shared<Client>(std::move(executor), std::move(options));
  }
  // Use create(): the client's coroutines keep it alive with shared_from_this().
  Client(asio::any_io_executor executor, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects and says Hello (options.connect_attempts times, with backoff between). Fails for
  // good on a refused nick or password. Once connected, the client keeps itself connected.
  asio::awaitable<Result<v1::Welcome>> connect();
  // Joins (history < 0: the server's default number of recent messages, sent as events).
  asio::awaitable<Result<v1::JoinReply>> join(std::string room, int history = -1);
  asio::awaitable<Result<Done>> leave(std::string room);
  // Sends to a joined room; completes with the server's Ack (the message's sequence), also
  // across reconnects.
  asio::awaitable<Result<v1::Ack>> send(std::string room, std::string text, bool action = false);
  // Returns the message's client_msg_id, which receipts refer to.
  asio::awaitable<Result<std::uint64_t>> send_direct(std::string nick, std::string text);
  asio::awaitable<Result<v1::HistoryReply>> history(v1::History query);
  asio::awaitable<Result<v1::MemberList>> who(std::string room);
  asio::awaitable<Result<v1::RoomList>> rooms(std::string prefix = {}, std::uint32_t limit = 0);
  asio::awaitable<Result<Done>> set_topic(std::string room, std::string topic);
  asio::awaitable<Result<Done>> set_nick(std::string nick);
  asio::awaitable<Result<Done>> edit(std::string room, std::uint64_t seq, std::string text);
  asio::awaitable<Result<Done>> remove(std::string room, std::uint64_t seq);
  asio::awaitable<Result<Done>> mark_read(std::string room, std::uint64_t seq);
  asio::awaitable<Result<Done>> register_nick(std::string password);
  // Fire and forget.
  void typing(const std::string& room);
  void read_receipt(const std::string& to, std::uint64_t client_msg_id);

  // The next event; ConnectionEvent{closed} once the client is closed and nothing is left.
  asio::awaitable<ClientEvent> next_event();
  // Disconnects for good; waiting calls fail with UNAVAILABLE.
  void close();

  const asio::any_io_executor& executor() const { return executor_; }
  const std::string& nick() const { return nick_; }
  bool connected() const { return connected_; }
  // Says Hello with a password (a registered nick: the server keeps its read markers).
  bool has_password() const { return !options_.password.empty(); }
  bool closed() const { return closed_; }
  const v1::Welcome& welcome() const { return welcome_; }
  // Names of the joined rooms, in join order.
  std::vector<std::string> joined_rooms() const;
  // Sends still waiting for their Ack.
  std::size_t unacknowledged() const { return sends_.size(); }

 private:
  struct Waiter;
  struct PendingSend;
  struct JoinedRoom {
    std::string name;
    RoomTracker tracker;
    std::uint64_t order = 0;
    // After a reconnect: sends wait until the server has resumed the room and replayed what it
    // holds up to resume_until, so a replayed copy of an unacknowledged send completes it.
    bool ready = true;
    std::uint64_t resume_until = 0;
  };

  asio::awaitable<Result<v1::ServerFrame>> request(v1::ClientFrame frame);
  asio::awaitable<Result<Done>> request_ok(v1::ClientFrame frame);
  asio::awaitable<void> wait(Waiter& waiter);
  void complete(std::uint64_t request_id, const v1::ServerFrame& frame);
  void write(v1::ClientFrame& frame);

  asio::awaitable<std::optional<Failure>> open_connection(bool resume);
  asio::awaitable<std::optional<Failure>> handshake(bool resume);
  asio::awaitable<void> connection_loop();
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> send_loop();
  // Reads what the server sent into the decoder (decrypted on TLS); false when the connection is
  // lost (lost_reason_ says why for a TLS error).
  asio::awaitable<asio::error_code> read_into_decoder();
  // Frames as they go on the wire: TLS records on a TLS connection.
  std::string wire_bytes(std::string frames);
  asio::awaitable<std::optional<Failure>> start_tls(const std::string& address);
  asio::awaitable<bool> reconnect();
  void on_disconnected(const std::string& why);
  void finish_closing(const std::string& why);

  void dispatch(v1::ServerFrame& frame);
  void on_room_message(v1::ServerFrame& frame);
  void on_server_gap(const v1::Gap& gap);
  void on_resumed(const v1::JoinReply& reply);
  void check_resumed(JoinedRoom& room);
  std::optional<std::uint64_t> next_ready_send();
  void transmit(std::uint64_t client_msg_id);
  void fail_requests(const Failure& failure);  // the waiting calls other than sends
  void fail_everything(const Failure& failure);
  void on_send_reply(std::uint64_t client_msg_id, const v1::ServerFrame& frame);
  void fill_gap(const std::string& room, SeqRange range);
  asio::awaitable<void> recover(std::string room, SeqRange range);
  void emit(ClientEvent event);
  JoinedRoom* find_room(const std::string& name);
  std::optional<Failure> check_message(const std::string& text) const;

  asio::any_io_executor executor_;
  ClientOptions options_;
  std::string nick_;
  asio::ip::tcp::socket socket_;
  std::shared_ptr<TlsContext> tls_context_;  // made on the first TLS connection
  std::unique_ptr<TlsChannel> tls_;          // this connection's, when TLS
  std::vector<char> tls_in_;                 // raw bytes read on a TLS connection
  FrameDecoder decoder_;
  std::string out_;               // frames waiting for the writer
  std::uint64_t generation_ = 0;  // counts connections, so a stale write error closes nothing
  bool connected_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool loops_started_ = false;
  v1::Welcome welcome_;
  std::string lost_reason_;
  std::optional<std::chrono::milliseconds> server_retry_after_;
  std::chrono::steady_clock::time_point send_pause_until_{};
  ReconnectBackoff backoff_;
  TokenBucket send_bucket_{0, 0};

  std::uint64_t next_request_id_ = 1;
  std::uint64_t next_client_msg_id_ = 1;
  std::uint64_t next_room_order_ = 0;
  std::unordered_map<std::uint64_t, Waiter*> waiters_;
  std::map<std::uint64_t, PendingSend*> sends_;  // by client_msg_id: send order
  std::set<std::uint64_t> unsent_;               // client_msg_ids to (re)transmit
  std::unordered_map<std::uint64_t, std::uint64_t> send_requests_;  // request_id -> client_msg_id
  std::map<std::string, JoinedRoom> rooms_;                         // by name_key

  std::deque<ClientEvent> events_;
  WakeSignal events_ready_;
  WakeSignal writer_wake_;
  WakeSignal sender_wake_;
  WakeSignal reconnected_;          // gap recovery interrupted by a lost connection waits for it
  asio::steady_timer sleep_timer_;  // backoff waits; close() cancels it
  asio::steady_timer pace_timer_;   // the send loop's wait for the rate limit
};

}  // namespace chat::client
