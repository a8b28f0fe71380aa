#include "load_client.hpp"

#include <netinet/in.h>

#include <asio/connect.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <random>

#include "frame_peek.hpp"
#include "framing.hpp"
#include "irc_lines.hpp"
#include "tls_handshake.hpp"
#include "worker.hpp"

namespace chat::loadtest {
namespace {

using asio::experimental::as_tuple;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = as_tuple(asio::use_awaitable);

std::int64_t parse_hex16(std::string_view text) {
  std::int64_t value = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = text[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

void write_hex16(std::string& text, std::int64_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    text[static_cast<std::size_t>(i)] = digits[value & 0xf];
    value >>= 4;
  }
}

asio::awaitable<bool> cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

LoadClient::LoadClient(Worker& worker, const ClientSpec& spec)
    : worker_(worker),
      spec_(spec),
      wire_(worker.shared().options.transport,
            static_cast<std::uint32_t>(spec.index) * 2654435761u),
      socket_(worker.io()),
      script_timer_(worker.io()),
      writer_wake_(worker.io().get_executor()),
      trackers_(spec.rooms.size()) {
  for (std::uint32_t room : spec.rooms)
    room_names_.push_back(worker.shared().plan.room_names[room]);
  text_.assign(worker.shared().options.payload, 'x');
}

void LoadClient::close() {
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  script_timer_.cancel();
}

asio::awaitable<void> LoadClient::run() {
  SharedState& shared = worker_.shared();
  const Options& options = shared.options;
  if (options.ramp_up > 0) {
    // Client i connects at i / ramp_up seconds after the start.
    const auto offset =
        std::chrono::nanoseconds(static_cast<std::int64_t>(spec_.index / options.ramp_up * 1e9));
    script_timer_.expires_at(shared.started_at + offset);
    co_await script_timer_.async_wait(use_tuple);
  }
  bool resuming = false;
  for (int attempt = 0;; ++attempt) {
    setup_started_ns_ = steady_ns();
    if (!co_await connect()) {
      if (!joined_once_) {
        ++worker_.counters().connect_failures;
        shared.failed.fetch_add(1, std::memory_order_relaxed);
        co_return;
      }
      // A churning client whose reconnect failed: try again shortly while the run lasts.
      if (shared.current() >= Phase::stopping || attempt > 50) co_return;
      script_timer_.expires_after(std::chrono::milliseconds(20));
      co_await script_timer_.async_wait(use_tuple);
      continue;
    }
    co_await (read_loop() || write_loop() || script(resuming));
    asio::error_code ignored;
    socket_.close(ignored);
    connected_ = false;
    carry_.clear();
    out_.clear();
    shared.in_flight.fetch_sub(
        in_flight_, std::memory_order_relaxed);  // their acks are gone with the connection
    in_flight_ = 0;
    // A churner that left mid-run comes back once more, so it can catch up during the drain.
    if (!spec_.churns || !joined_once_ || shared.current() >= Phase::stopping) co_return;
    resuming = true;
    shared.reconnects.fetch_add(1, std::memory_order_relaxed);
  }
}

asio::awaitable<bool> LoadClient::connect() {
  socket_ = asio::ip::tcp::socket(worker_.io());
  plaintext_.clear();
  asio::error_code ec;
  const auto address = asio::ip::make_address(spec_.server.host, ec);
  if (ec) co_return false;
  const asio::ip::tcp::endpoint endpoint(address, spec_.server.port);
  socket_.open(endpoint.protocol(), ec);
  if (!spec_.source_address.empty()) {
    // Let connect() pick the port: bind() with port 0 searches every port in use on the address,
    // which made 10,000 connects from one address take seconds of the harness's CPU.
    int one = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket_.bind({asio::ip::make_address(spec_.source_address, ec), 0}, ec);
    if (ec) co_return false;
  }

  auto [connect_error] = co_await socket_.async_connect(endpoint, use_tuple);
  if (connect_error) co_return false;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  tls_.reset();
  if (const auto& tls = worker_.shared().options.tls) {
    tls_ = std::make_unique<TlsChannel>(tls, spec_.server.host);
    TlsHandshakeResult handshake = co_await tls_handshake(socket_, *tls_);
    if (!handshake.ok) {
      static std::atomic<bool> reported{false};
      if (!reported.exchange(true)) {
        std::fprintf(stderr, "chat-loadtest: TLS with %s:%u: %s\n", spec_.server.host.c_str(),
                     unsigned{spec_.server.port}, handshake.failure.c_str());
      }
      co_return false;
    }
    plaintext_ = std::move(handshake.early_plaintext);
  }
  connected_ = true;
  if (wire_.transport() == Transport::websocket && !co_await upgrade_to_websocket()) {
    connected_ = false;
    co_return false;
  }
  if (!plaintext_.empty()) consume(plaintext_.data(), plaintext_.size(), steady_ns());
  socket_.non_blocking(true, ec);
  co_return true;
}

asio::awaitable<bool> LoadClient::upgrade_to_websocket() {
  std::string request = wire_.upgrade_request(spec_.server.host, spec_.server.port);
  if (tls_) {
    tls_->send(request);
    request.clear();
    tls_->take_output(request);
  }
  if (auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(request), use_tuple); ec)
    co_return false;
  std::array<char, 1024> buffer;  // not the worker's: other clients read into it while this waits
  for (;;) {
    bool ok = false;
    if (const std::size_t head = ClientWire::upgrade_response(plaintext_, ok); head > 0) {
      if (!ok) {
        static std::atomic<bool> reported{false};
        if (!reported.exchange(true)) {
          std::fprintf(stderr, "chat-loadtest: %s:%u refused the WebSocket upgrade: %.*s\n",
                       spec_.server.host.c_str(), unsigned{spec_.server.port},
                       static_cast<int>(std::min<std::size_t>(head, 200)), plaintext_.data());
        }
        co_return false;
      }
      plaintext_.erase(0, head);  // the first frames, if they came with the 101
      co_return true;
    }
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer), use_tuple);
    if (ec) co_return false;
    if (!tls_) {
      plaintext_.append(buffer.data(), n);
    } else if (!tls_->receive({buffer.data(), n}, plaintext_)) {
      co_return false;
    }
  }
}

asio::awaitable<void> LoadClient::read_loop() {
  std::vector<char>& buffer = worker_.read_buffer();
  for (;;) {
    auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
    if (ec) co_return;
    // Drain what is there, a bounded number of reads so one client cannot starve the others.
    for (int reads = 0; reads < 4; ++reads) {
      asio::error_code read_error;
      const std::size_t n = socket_.read_some(asio::buffer(buffer), read_error);
      if (read_error == asio::error::would_block) break;
      if (read_error) co_return;
      if (tls_) {
        plaintext_.clear();
        if (!tls_->receive({buffer.data(), n}, plaintext_)) co_return;
        if (tls_->has_output()) queue({});  // something the TLS layer owes the server
        consume(plaintext_.data(), plaintext_.size(), steady_ns());
        if (tls_->peer_closed()) co_return;  // after what came with close_notify
      } else {
        consume(buffer.data(), n, steady_ns());
      }
      if (!connected_) co_return;
      if (n < buffer.size()) break;
    }
  }
}

asio::awaitable<void> LoadClient::write_loop() {
  for (;;) {
    while (out_.empty() && !(tls_ && tls_->has_output())) {
      writer_waiting_ = true;
      co_await writer_wake_.wait();
      writer_waiting_ = false;
      if (co_await cancelled()) co_return;
    }
    if (tls_) {
      tls_->send(out_);
      out_.clear();
      tls_->take_output(writing_);
    } else {
      std::swap(out_, writing_);
    }
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing_), use_tuple);
    writing_.clear();
    if (ec) co_return;
  }
}

void LoadClient::queue(std::string_view bytes) {
  out_.append(bytes);
  if (writer_waiting_) writer_wake_.notify();
}

asio::awaitable<bool> LoadClient::wait_until(std::chrono::steady_clock::time_point deadline) {
  script_timer_.expires_at(deadline);
  co_await script_timer_.async_wait(use_tuple);
  co_return !(co_await cancelled());
}

void LoadClient::send_hello(bool resuming) {
  v1::ClientFrame& frame = worker_.scratch_request();
  frame.Clear();
  frame.set_request_id(next_request_id_++);
  auto* hello = frame.mutable_hello();
  hello->set_protocol_version(1);
  hello->set_nick(spec_.nick);
  hello->set_client_name("chat-loadtest");
  if (resuming) {
    for (std::size_t slot = 0; slot < room_names_.size(); ++slot) {
      auto* resume = hello->add_resume();
      resume->set_room(room_names_[slot]);
      resume->set_last_seen_seq(trackers_[slot].highest());
    }
  }
  std::string bytes;
  wire_.append(bytes, frame);
  queue(bytes);
}

void LoadClient::send_join(std::size_t slot) {
  v1::ClientFrame& frame = worker_.scratch_request();
  frame.Clear();
  frame.set_request_id(slot + 1000);  // the reply's id names the room slot
  frame.mutable_join()->set_room(room_names_[slot]);
  frame.mutable_join()->set_history(0);
  std::string bytes;
  wire_.append(bytes, frame);
  queue(bytes);
}

void LoadClient::send_message() {
  v1::ClientFrame& frame = worker_.scratch_request();
  frame.Clear();
  last_send_id_ =
      std::max(last_send_id_ + 1, send_id_bit | static_cast<std::uint64_t>(steady_ns()));
  frame.set_request_id(last_send_id_);
  auto* send = frame.mutable_send();
  send->set_room(room_names_[next_room_]);
  next_room_ = (next_room_ + 1) % room_names_.size();
  write_hex16(text_, steady_ns());
  send->set_text(text_);
  const std::size_t before = out_.size();
  wire_.append(out_, frame);
  if (before == 0 && writer_waiting_) writer_wake_.notify();
  ++in_flight_;
  worker_.shared().in_flight.fetch_add(1, std::memory_order_relaxed);
  worker_.shared().sent.fetch_add(1, std::memory_order_relaxed);
}

asio::awaitable<void> LoadClient::script(bool resuming) {
  SharedState& shared = worker_.shared();
  welcomed_ = false;
  joins_answered_ = 0;
  // Hello, retried while the server still holds our nick from the connection we just closed.
  for (int tries = 0; !welcomed_; ++tries) {
    nick_in_use_ = false;
    send_hello(resuming);
    while (!welcomed_ && !nick_in_use_) {
      if (!co_await wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(30)))
        co_return;
    }
    if (welcomed_) break;
    if (tries > 200) co_return;
    if (!co_await wait_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(10)))
      co_return;
  }
  if (resuming) {
    // A resumed room is joined once its JoinReply (request_id 0) arrives; sending before that is
    // answered NOT_IN_ROOM.
    while (joins_answered_ < room_names_.size()) {
      if (!co_await wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(30)))
        co_return;
    }
  } else {
    for (std::size_t slot = 0; slot < room_names_.size(); ++slot) send_join(slot);
    while (joins_answered_ < room_names_.size()) {
      if (!co_await wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(30)))
        co_return;
    }
    worker_.counters().connect_time.record(steady_ns() - setup_started_ns_);
    joined_once_ = true;
    shared.ready.fetch_add(1, std::memory_order_relaxed);
  }
  // Wait for the start: Worker::wake_all() runs when the phase changes (no polling, which with
  // 10,000 waiting clients would cost the harness more than the connects do).
  while (shared.current() == Phase::connecting) {
    if (!co_await wait_until(std::chrono::steady_clock::time_point::max())) co_return;
  }
  const auto churn_at =
      std::chrono::steady_clock::now() + shared.options.churn_interval / 2 +
      std::chrono::milliseconds(
          std::minstd_rand(static_cast<unsigned>(spec_.index + shared.options.seed))() %
          static_cast<unsigned>(shared.options.churn_interval.count()));
  if (spec_.sender) co_await send_loop();
  if (spec_.churns && shared.current() == Phase::running) {
    while (std::chrono::steady_clock::now() < churn_at) {
      if (!co_await wait_until(churn_at)) co_return;
    }
    co_return;  // ends this connection; run() reconnects and resumes
  }
  // Park until the socket closes (late acks wake the timer: wait again).
  while (co_await wait_until(std::chrono::steady_clock::time_point::max())) {
  }
}

asio::awaitable<void> LoadClient::send_loop() {
  SharedState& shared = worker_.shared();
  const Options& options = shared.options;
  const auto run_until =
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(shared.run_until_ns.load()));
  const auto churn_at = std::chrono::steady_clock::now() + options.churn_interval;
  const auto stop_at = spec_.churns ? std::min(run_until, churn_at) : run_until;
  if (options.rate > 0) {
    const auto interval = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / options.rate));
    // Senders start spread over one interval, so they do not all send at once.
    auto next = std::chrono::steady_clock::now() + interval * (spec_.index % 1000) / 1000;
    while (next < stop_at) {
      if (!co_await wait_until(next)) co_return;
      const auto now = std::chrono::steady_clock::now();
      if (now >= stop_at) break;
      send_message();
      next += interval;
      if (next < now - std::chrono::milliseconds(100))
        next = now;  // fell behind: no burst to catch up
    }
  } else {
    while (std::chrono::steady_clock::now() < stop_at) {
      while (in_flight_ < options.window) send_message();
      if (!co_await wait_until(stop_at)) co_return;
    }
  }
}

void LoadClient::consume(const char* data, std::size_t size, std::int64_t now_ns) {
  if (carry_.empty()) {
    const std::size_t used = process({data, size}, now_ns);
    carry_.assign(data + used, size - used);
  } else {
    carry_.append(data, size);
    const std::size_t used = process(carry_, now_ns);
    carry_.erase(0, used);
  }
}

std::size_t LoadClient::process(std::string_view bytes, std::int64_t now_ns) {
  std::size_t used = 0;
  while (connected_) {
    ServerUnit unit;
    std::size_t size = 0;
    const UnitStatus status = wire_.next(bytes.substr(used), unit, size);
    if (status == UnitStatus::need_more) break;
    if (status == UnitStatus::error || unit.kind == ServerUnit::Kind::close) {
      if (status == UnitStatus::error) {
        ++worker_.counters().errors[v1::Error::BAD_REQUEST];
        worker_.shared().errors.fetch_add(1, std::memory_order_relaxed);
      }
      close();
      connected_ = false;
      break;
    }
    if (unit.kind == ServerUnit::Kind::frame) {
      handle_frame(unit.body, now_ns);
    } else if (unit.kind == ServerUnit::Kind::line) {
      handle_irc_line(unit.body, now_ns);
    } else if (unit.kind == ServerUnit::Kind::ping) {
      std::string pong;
      wire_.append_pong(pong, unit.body);
      queue(pong);
    }
    used += size;
  }
  return used;
}

int LoadClient::room_slot(std::string_view room) const {
  for (std::size_t i = 0; i < room_names_.size(); ++i) {
    if (room_names_[i] == room) return static_cast<int>(i);
  }
  return -1;
}

void LoadClient::handle_frame(std::string_view body, std::int64_t now_ns) {
  if (const auto message = peek_room_message(body)) {
    on_room_message(message->room, message->seq, message->text, now_ns);
    return;
  }
  handle_other(body);
}

void LoadClient::on_room_message(std::string_view room, std::uint64_t seq, std::string_view text,
                                 std::int64_t now_ns) {
  const int slot = room_slot(room);
  if (slot < 0) return;
  SequenceTracker& tracker = trackers_[static_cast<std::size_t>(slot)];
  const std::uint64_t before = tracker.received();
  tracker.on_message(seq);
  if (tracker.received() > before)
    worker_.shared().accounted.fetch_add(1, std::memory_order_relaxed);
  auto& seen = worker_.shared().max_seen[spec_.rooms[static_cast<std::size_t>(slot)]];
  if (seq > seen.load(std::memory_order_relaxed)) SharedState::raise_to(seen, seq);
  ++worker_.counters().delivered;
  if (text.size() >= 16) {
    const std::int64_t sent_ns = parse_hex16(text);
    if (sent_ns > 0) worker_.record_latency(now_ns - sent_ns);
  }
}

void LoadClient::on_joined(std::size_t slot, std::uint64_t last_seq) {
  SharedState& shared = worker_.shared();
  trackers_[slot].start_after(last_seq);
  const std::uint32_t room = spec_.rooms[slot];
  shared.members[room].fetch_add(1, std::memory_order_relaxed);
  shared.start_sum[room].fetch_add(last_seq, std::memory_order_relaxed);
  ++joins_answered_;
  notify_script();
}

void LoadClient::on_ack(std::string_view room, std::uint64_t seq, std::int64_t sent_ns) {
  SharedState& shared = worker_.shared();
  if (sent_ns > 0) worker_.counters().ack_latency.record(steady_ns() - sent_ns);
  const int slot = room_slot(room);
  if (slot >= 0)
    SharedState::raise_to(shared.max_acked[spec_.rooms[static_cast<std::size_t>(slot)]], seq);
  if (in_flight_ > 0) --in_flight_;
  shared.in_flight.fetch_sub(1, std::memory_order_relaxed);
  shared.acked.fetch_add(1, std::memory_order_relaxed);
  if (shared.options.rate <= 0) notify_script();
}

// IRC has no JoinReply with the room's last sequence: rooms start empty (see --transport), and
// the echo of one's own message (echo-message) is both its delivery and its acknowledgement.
void LoadClient::handle_irc_line(std::string_view line, std::int64_t now_ns) {
  SharedState& shared = worker_.shared();
  const IrcEvent event = read_irc_event(line);
  switch (event.kind) {
    case IrcEvent::Kind::message:
      on_room_message(event.room, event.seq, event.text, now_ns);
      if (event.nick == spec_.nick)
        on_ack(event.room, event.seq, event.text.size() >= 16 ? parse_hex16(event.text) : 0);
      break;
    case IrcEvent::Kind::welcome:
      welcomed_ = true;
      notify_script();
      break;
    case IrcEvent::Kind::nick_in_use:
      if (welcomed_) break;
      nick_in_use_ = true;
      notify_script();
      break;
    case IrcEvent::Kind::joined: {
      const int slot = room_slot(event.room);
      if (slot >= 0 && !joined_once_) on_joined(static_cast<std::size_t>(slot), 0);
      break;
    }
    case IrcEvent::Kind::ping: {
      std::string pong;
      wire_.append_pong(pong, event.text);
      queue(pong);
      break;
    }
    case IrcEvent::Kind::error:
      ++worker_.counters().errors[v1::Error::BAD_REQUEST];
      shared.errors.fetch_add(1, std::memory_order_relaxed);
      break;
    case IrcEvent::Kind::closing:
      ++worker_.counters().disconnects[v1::Disconnect::REASON_UNSPECIFIED];
      break;
    case IrcEvent::Kind::other:
      break;
  }
}

void LoadClient::handle_other(std::string_view body) {
  SharedState& shared = worker_.shared();
  v1::ServerFrame& frame = worker_.scratch_frame();
  if (!frame.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    ++worker_.counters().errors[v1::Error::BAD_REQUEST];
    shared.errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  switch (frame.payload_case()) {
    case v1::ServerFrame::kWelcome:
      welcomed_ = true;
      notify_script();
      break;
    case v1::ServerFrame::kJoinReply: {
      const int slot = room_slot(frame.join_reply().room());
      if (slot >= 0 && frame.request_id() == static_cast<std::uint64_t>(slot) + 1000 &&
          !joined_once_) {
        on_joined(static_cast<std::size_t>(slot), frame.join_reply().last_seq());
      } else if (slot >= 0 && frame.request_id() == 0 && joined_once_) {
        ++joins_answered_;  // a resumed room: the server rejoined it for us
        notify_script();
      }
      break;
    }
    case v1::ServerFrame::kAck: {
      const std::uint64_t id = frame.request_id();
      on_ack(frame.ack().room(), frame.ack().seq(),
             (id & send_id_bit) ? static_cast<std::int64_t>(id & ~send_id_bit) : 0);
      break;
    }
    case v1::ServerFrame::kError: {
      const auto code = frame.error().code();
      if (!welcomed_ && code == v1::Error::NICK_IN_USE) {
        nick_in_use_ = true;
        notify_script();
        break;
      }
      ++worker_.counters().errors[code];
      shared.errors.fetch_add(1, std::memory_order_relaxed);
      if (frame.request_id() >= (1ULL << 40)) {
        if (in_flight_ > 0) --in_flight_;
        shared.in_flight.fetch_sub(1, std::memory_order_relaxed);
        if (shared.options.rate <= 0) notify_script();
      }
      if (frame.request_id() >= 1000 && frame.request_id() < 1000 + room_names_.size()) {
        ++joins_answered_;  // a refused join: counted as an error, the client goes on
        notify_script();
      }
      break;
    }
    case v1::ServerFrame::kGap: {
      const int slot = room_slot(frame.gap().room());
      if (slot >= 0) {
        trackers_[static_cast<std::size_t>(slot)].on_gap(frame.gap().from_seq(),
                                                         frame.gap().to_seq());
        shared.accounted.fetch_add(frame.gap().to_seq() - frame.gap().from_seq() + 1,
                                   std::memory_order_relaxed);
      }
      break;
    }
    case v1::ServerFrame::kDisconnect:
      ++worker_.counters().disconnects[frame.disconnect().reason()];
      break;
    case v1::ServerFrame::kPing: {
      v1::ClientFrame& pong = worker_.scratch_request();
      pong.Clear();
      pong.mutable_ping()->set_nonce(frame.ping().nonce());
      std::string bytes;
      wire_.append(bytes, pong);
      queue(bytes);
      break;
    }
    default:
      break;  // presence and other events: not part of the figures
  }
}

}  // namespace chat::loadtest
