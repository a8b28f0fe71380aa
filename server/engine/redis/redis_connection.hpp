#pragma once
// One connection to Redis on an Asio event loop: commands are pipelined (each answered in order by
// its callback), the connection is re-made with backoff when it drops, and a subscriber connection
// re-subscribes its channels after each reconnect. Subscriptions are to shard channels
// (SSUBSCRIBE, Redis 7), which a cluster keeps on the master that serves the channel's slot.
// hiredis encodes nothing here and reads the replies (redis_reply.*); the socket loop is ours, like
// every other connection in the server.
//
// Everything runs on the io_context given (one thread); call it from there.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "host_port.hpp"
#include "redis_reply.hpp"
#include "wake_signal.hpp"

namespace chat::server::redis {

struct ConnectionOptions {
  HostPort address;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  bool subscriber = false;  // SSUBSCRIBE/SUNSUBSCRIBE only; messages go to on_message
};

class Connection {
 public:
  using Done = std::function<void(Reply)>;

  Connection(asio::io_context& io, ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects, and reconnects whenever the connection drops, until stop().
  void start();
  void stop();
  bool connected() const { return connected_; }
  // Why the connection is down or last went down ("" before any failure).
  const std::string& last_error() const { return last_error_; }

  // Sends a command. done gets its reply, or an error reply ("ERR redis unavailable: ...") when
  // the connection is down or drops before the reply came. Not on a subscriber connection.
  void command(std::vector<std::string> args, Done done);
  // The same, encoded already (encode_command).
  void command_encoded(std::string_view encoded, Done done);

  // Subscriber connections: the channels wanted, kept across reconnects.
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  bool subscribed(const std::string& channel) const { return channels_.contains(channel); }

  // Called on every change between up and down (after re-subscribing, when up).
  std::function<void(bool up)> on_state;
  // Subscriber connections: each message published on a subscribed channel.
  std::function<void(const std::string& channel, const std::string& payload)> on_message;
  // Subscriber connections: Redis confirmed a subscription; messages published from now on arrive.
  std::function<void(const std::string& channel)> on_subscribed;
  // Subscriber connections: Redis ended a subscription nobody asked to end (its slot moved to
  // another master), or refused one (MOVED: the map was old); the channel is no longer wanted here.
  std::function<void(const std::string& channel)> on_dropped;
  // After stop(), once nothing of the connection runs any more: it may be destroyed (not from
  // within this call).
  std::function<void()> on_finished;

 private:
  asio::awaitable<void> run();
  asio::awaitable<bool> connect_once();
  asio::awaitable<bool> answers_ping(ReplyReader& reader);
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  void send(std::string_view encoded);
  void send_subscription(bool subscribe, const std::string& channel);
  void handle(Reply reply);
  void handle_subscriber(Reply reply);
  void fail_pending(const std::string& why);
  void set_connected(bool up);

  asio::io_context& io_;
  ConnectionOptions options_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  WakeSignal writer_wake_;
  WakeSignal writer_done_;
  bool writer_running_ = false;
  std::string out_;      // encoded commands waiting for the writer
  std::string writing_;  // being written
  std::deque<Done> pending_;
  std::set<std::string> channels_;
  struct Asked {
    bool subscribe;
    std::string channel;
  };
  // SSUBSCRIBEs and SUNSUBSCRIBEs sent and not yet answered, in order: an error reply is the
  // first one's; a "sunsubscribe" not among them is Redis ending a subscription by itself.
  std::deque<Asked> asked_;
  ReplyReader* reader_ = nullptr;  // the current connection's
  std::string last_error_;
  bool running_ = false;
  bool stopped_ = false;
  bool connected_ = false;
};

}  // namespace chat::server::redis
