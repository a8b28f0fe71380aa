#pragma once
// One simulated user: connects, says Hello, joins its rooms, and (if it is a sender) sends at its
// rate or with a window of unacknowledged messages; checks every delivery against the room
// sequence. A churning client disconnects now and then and resumes from its last sequences.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client_wire.hpp"
#include "plan.hpp"
#include "sequence_tracker.hpp"
#include "tls_channel.hpp"
#include "wake_signal.hpp"

namespace chat::loadtest {

class Worker;

class LoadClient {
 public:
  LoadClient(Worker& worker, const ClientSpec& spec);

  asio::awaitable<void> run();
  void close();
  const std::vector<SequenceTracker>& trackers() const { return trackers_; }
  const ClientSpec& spec() const { return spec_; }
  bool joined_once() const { return joined_once_; }
  // Wakes the client's script to look at the phase (or its acks) again.
  void notify_script() { script_timer_.cancel(); }

 private:
  asio::awaitable<bool> connect();
  // --transport ws: the upgrade to a WebSocket at /ws; what came after the 101 is consumed.
  asio::awaitable<bool> upgrade_to_websocket();
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> script(bool resuming);
  asio::awaitable<void> send_loop();
  // Waits until notify() or the deadline; false when the coroutine was cancelled.
  asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);

  void consume(const char* data, std::size_t size, std::int64_t now_ns);
  std::size_t process(std::string_view bytes, std::int64_t now_ns);
  void handle_frame(std::string_view body, std::int64_t now_ns);
  void on_room_message(std::string_view room, std::uint64_t seq, std::string_view text,
                       std::int64_t now_ns);
  // A room joined for the first time: deliveries are counted after last_seq.
  void on_joined(std::size_t slot, std::uint64_t last_seq);
  // sent_ns: when the message was sent (0: unknown), for the acknowledgement's latency.
  void on_ack(std::string_view room, std::uint64_t seq, std::int64_t sent_ns);
  void handle_irc_line(std::string_view line, std::int64_t now_ns);
  void handle_other(std::string_view body);
  int room_slot(std::string_view room) const;
  void queue(std::string_view bytes);
  void send_hello(bool resuming);
  void send_join(std::size_t slot);
  void send_message();

  Worker& worker_;
  ClientSpec spec_;
  ClientWire wire_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsChannel> tls_;  // this connection's, with --tls
  std::string plaintext_;            // what a TLS read decrypted to
  asio::steady_timer script_timer_;
  WakeSignal writer_wake_;
  std::string carry_;    // the partial frame left from the last read
  std::string out_;      // frames waiting for the writer
  std::string writing_;  // frames being written
  bool writer_waiting_ = false;
  bool connected_ = false;

  std::vector<SequenceTracker> trackers_;  // per joined room
  std::vector<std::string> room_names_;
  bool welcomed_ = false;
  bool nick_in_use_ = false;
  std::size_t joins_answered_ = 0;
  bool joined_once_ = false;
  std::uint64_t next_request_id_ = 1;
  // A send's request id is its send time (with this bit set, so sends are told apart from set-up
  // requests): the Ack echoes it, which gives the acknowledgement latency for free.
  static constexpr std::uint64_t send_id_bit = 1ULL << 62;
  std::uint64_t last_send_id_ = 0;
  std::uint32_t in_flight_ = 0;
  std::size_t next_room_ = 0;
  std::string text_;
  std::int64_t setup_started_ns_ = 0;
};

}  // namespace chat::loadtest
