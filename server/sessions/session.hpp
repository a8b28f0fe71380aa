#pragma once
// One chat.v1 client: the front end that turns the varint-framed protobuf frames of its Connection
// into requests, and answers them, on the session's shard. The session object lives in the
// coroutine frame of serve() and owns its registrations (nick, rooms), which it gives up when the
// connection's coroutines end.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "accounts.hpp"
#include "chat.pb.h"
#include "client_codec.hpp"
#include "client_session.hpp"
#include "connection.hpp"
#include "framing.hpp"
#include "front_door.hpp"
#include "seen_direct_messages.hpp"
#include "session_ref.hpp"
#include "shard.hpp"
#include "token_bucket.hpp"

namespace chat {
class TlsChannel;
class TlsContext;
}  // namespace chat

namespace chat::server {

class Shard;

class Session final : public ClientSession, public Connection::Handler {
 public:
  using clock = std::chrono::steady_clock;

  // codec: the client's wire format. tls: the channel of a TLS connection whose handshake is done
  // (nullptr: plain text). early_input: what arrived before the session began (with the TLS
  // handshake's end, or after a WebSocket upgrade).
  Session(Shard& shard, asio::ip::tcp::socket socket, std::string peer,
          std::unique_ptr<ClientCodec> codec, std::unique_ptr<TlsChannel> tls = nullptr,
          std::string early_input = {});
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Serves the connection until it closes.
  asio::awaitable<void> run();

  SessionRef ref() const override { return ref_; }
  const std::string& nick() const override { return nick_; }
  const std::string& peer() const { return connection_.peer(); }
  std::size_t outbox_bytes() const override { return connection_.outbox().bytes(); }
  bool uses_tls() const override { return connection_.uses_tls(); }
  std::string_view transport() const override { return codec_->transport(); }

  // Queues a frame for the client without waiting. A client too far behind is closed with
  // SLOW_CONSUMER; it leaves its rooms later, when its coroutines unwind.
  void deliver(const SharedFrame& frame) override;
  // Stops taking requests, waits (up to close_timeout_ms) until every request taken so far is
  // answered, then sends Disconnect{reason}, flushes what is queued and closes within
  // close_timeout_ms. SLOW_CONSUMER skips the wait and drops what is queued.
  void close_with(v1::Disconnect::Reason reason, const std::string& message,
                  std::uint32_t retry_after_ms = 0) override;
  // Ends the connection now, without flushing.
  void abort() override;

  // Answers from a room's home shard.
  void on_joined(const std::string& key, const std::string& room,
                 std::vector<SharedFrame> frames) override;
  void on_join_failed(const std::string& key, SharedFrame error) override;

 private:
  // Connection::Handler
  void on_input(std::string_view bytes) override;
  // Handles the requests buffered in the decoder, in order, until one that later requests depend
  // on (Hello, Join, SetNick, Register) has to be answered first.
  void handle_input() override;
  // Takes the next thing the codec decoded; false when nothing more can be taken now.
  bool take_input();
  bool input_blocked() const override {
    return taking_requests() &&
           ((ordering_barrier_ && unanswered_ > 0) || delayed_until_ != clock::time_point::max());
  }
  // For a codec that delays over the rate: true (and input waits) while no request may be taken.
  bool wait_for_rate();
  // For a codec whose answers come in order: whether this request waits for those before it.
  bool waits_for_earlier_answers(const v1::ClientFrame& frame) const;
  bool takes_input() const override { return taking_requests(); }
  // The client sent its last byte (or the connection failed): answer what it asked, then close.
  void on_input_end() override;
  // The handshake and idle deadlines, keep-alive pings, and the deadline for a drain.
  clock::time_point on_timer(clock::time_point now) override;

  // A frame protobuf refused: answered with an Error when only a string's UTF-8 was at fault.
  void handle_unparsable(std::string_view payload);
  bool taking_requests() const { return !connection_.closing() && !draining_; }
  // Takes no more requests: what was taken is answered (within close_timeout_ms), then it closes.
  void begin_draining();
  // A reply or Error went out: one request fewer to wait for.
  void on_answered();
  // Every request taken was answered (or close_timeout_ms passed): Disconnect (if any) and close.
  void finish_draining();
  void disconnect_now(v1::Disconnect::Reason reason, const std::string& message,
                      std::uint32_t retry_after_ms);
  void close_quietly();

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
  void handle_whois(std::uint64_t id, const v1::Whois& whois);
  void handle_set_away(std::uint64_t id, const v1::SetAway& away);
  // What Whois says of this session.
  void fill_user_info(v1::UserInfo& info) const;
  // text: the new text of an Edit; nullptr for a Delete.
  void handle_change(std::uint64_t id, const std::string& room, std::uint64_t seq,
                     const std::string* text);
  // session_account.cpp
  // Login, the nick claimed on this node and across the cluster, then Welcome: one coroutine,
  // which the connection waits for before it ends. The password is dropped once checked.
  asio::awaitable<void> handshake(std::uint64_t id, v1::Hello hello);
  // A nick change, claimed across the cluster (or not).
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
  void leave_everything(const std::string& reason);
  // The nick is free for others (idempotent; the session keeps it for its logs).
  void release_nick();

  Shard& shard_;
  std::unique_ptr<ClientCodec> codec_;
  Connection connection_;
  SessionRef ref_;
  std::string nick_;
  bool welcomed_ = false;
  bool registered_ = false;  // logged in with a registered nick's password
  // What others may see of the user besides the nick (Whois, MemberJoined, AwayChanged); most
  // sessions have none, so it is kept apart.
  struct Profile {
    std::string real_name;
    std::string away;
  };
  std::unique_ptr<Profile> profile_;
  clock::time_point last_spoke_;          // the last Send or SendDirect taken (Whois's idle time)
  std::string cluster_nick_;              // the nick key claimed in Redis (cluster mode)
  std::vector<std::string> renaming_to_;  // nick keys asked of Redis for a nick change
  // Requests taken and not answered yet (resume joins included), and whether a request that later
  // ones depend on is among them: then nothing more is read until all are answered.
  std::uint32_t unanswered_ = 0;
  bool ordering_barrier_ = false;
  // For a codec whose answers come in order: request_ (or held_reply_, a reply the codec made
  // itself) waits for the answers before it, and the room of the run of sends being answered
  // (sends to one room are answered in order anyway, so a run of them need not wait: IRC clients
  // pipeline PRIVMSGs).
  bool holding_request_ = false;
  SharedFrame held_reply_;
  std::string pipelined_room_;
  // Taking no more requests; waiting (until drain_deadline_) for the answers to those taken, then
  // closing.
  bool draining_ = false;
  clock::time_point drain_deadline_ = clock::time_point::max();
  // The Disconnect to send once drained (reason and message in close_reason_ and close_message_);
  // none when the client closed its side.
  bool disconnect_pending_ = false;
  std::uint32_t disconnect_retry_after_ms_ = 0;
  v1::Disconnect::Reason close_reason_ = v1::Disconnect::REASON_UNSPECIFIED;
  std::string close_message_;
  bool ping_sent_ = false;
  // Input waits until then for the rate limit (codecs that delay rather than refuse).
  clock::time_point delayed_until_ = clock::time_point::max();

  v1::ClientFrame request_;  // reused for every decoded request

  TokenBucket request_bucket_;
  TokenBucket byte_bucket_;
  std::uint32_t rate_strikes_ = 0;

  SeenDirectMessages direct_ids_;                        // direct messages received lately
  std::unordered_map<std::string, std::string> joined_;  // room key -> room name as joined
  std::unordered_set<std::string> pending_joins_;        // room keys asked of a home shard
};

// Runs fn(session) on the session's shard if the chat.v1 session still exists there.
template <class F>
void with_session(ServerContext& context, SessionRef ref, F&& fn) {
  with_client(context, ref, [fn = std::forward<F>(fn)](ClientSession& client) mutable {
    if (auto* session = dynamic_cast<Session*>(&client)) fn(*session);
  });
}

// Builds the codec of a session's wire format.
using CodecFactory = std::function<std::unique_ptr<ClientCodec>(Shard&)>;
// Accepts nothing itself: builds a Session for an accepted socket and serves it, after a TLS
// handshake (bounded by the handshake timeout) when tls is set; a client that speaks plain text
// to a TLS port gets plaintext_refusal.
asio::awaitable<void> serve_session(Shard& shard, asio::ip::tcp::socket socket,
                                    std::shared_ptr<TlsContext> tls, CodecFactory make_codec,
                                    std::string_view plaintext_refusal);
// chat.v1 on the chat port.
asio::awaitable<void> serve(Shard& shard, asio::ip::tcp::socket socket);
// The same after a TLS handshake, bounded by the handshake timeout. A client that speaks plain text
// gets a plain-text Disconnect saying the port wants TLS.
asio::awaitable<void> serve_tls(Shard& shard, asio::ip::tcp::socket socket,
                                std::shared_ptr<TlsContext> context);
// The chat port's front door: serve() or serve_tls(); a refused client gets a Disconnect frame.
FrontDoor chat_v1_front_door();

}  // namespace chat::server
