#include "redis_connection.hpp"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <utility>

#include "logging.hpp"

namespace chat::server::redis {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

Reply error_reply(const std::string& why) {
  Reply reply;
  reply.type = Reply::Type::error;
  reply.text = "ERR redis unavailable: " + why;
  return reply;
}

}  // namespace

Connection::Connection(asio::io_context& io, ConnectionOptions options)
    : io_(io),
      options_(std::move(options)),
      socket_(io),
      timer_(io),
      writer_wake_(io.get_executor()),
      writer_done_(io.get_executor()) {}

Connection::~Connection() {
  stopped_ = true;
  asio::error_code ignored;
  socket_.close(ignored);
}

void Connection::start() {
  if (running_) return;
  running_ = true;
  asio::co_spawn(io_, run(), [this](std::exception_ptr error) {
    if (error) spdlog::error("redis connection failed: {}", describe_exception(error));
    if (on_finished) on_finished();
  });
}

void Connection::stop() {
  stopped_ = true;
  timer_.cancel();
  asio::error_code ignored;
  socket_.close(ignored);
  writer_wake_.notify();
  fail_pending("stopped");
}

void Connection::command(std::vector<std::string> args, Done done) {
  command_encoded(encode_command(args), std::move(done));
}

void Connection::command_encoded(std::string_view encoded, Done done) {
  if (!connected_ || stopped_) {
    asio::post(io_, [done = std::move(done), why = stopped_ ? "stopped" : last_error_]() {
      done(error_reply(why.empty() ? "not connected" : why));
    });
    return;
  }
  pending_.push_back(std::move(done));
  send(encoded);
}

void Connection::subscribe(const std::string& channel) {
  if (!channels_.insert(channel).second) return;
  if (connected_) send_subscription(true, channel);
}

void Connection::unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) == 0) return;
  if (connected_) send_subscription(false, channel);
}

// One channel per command: a cluster refuses shard channels of several slots in one, and an
// error reply must name the channel it is about.
void Connection::send_subscription(bool subscribe, const std::string& channel) {
  asked_.push_back({subscribe, channel});
  send(encode_command({subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE", channel}));
}

void Connection::send(std::string_view encoded) {
  out_ += encoded;
  writer_wake_.notify();
}

asio::awaitable<void> Connection::run() {
  auto backoff = options_.min_backoff;
  while (!stopped_) {
    ReplyReader reader;
    if (co_await connect_once() && co_await answers_ping(reader)) {
      backoff = options_.min_backoff;
      reader_ = &reader;
      if (options_.subscriber)
        for (const std::string& channel : channels_) send_subscription(true, channel);
      writer_running_ = true;
      asio::co_spawn(io_, write_loop(), [this](std::exception_ptr error) {
        if (error) {
          spdlog::error("redis writer failed: {}", describe_exception(error));
          asio::error_code ignored;
          socket_.close(ignored);  // the reader ends too, and the connection is made again
        }
        writer_running_ = false;
        writer_done_.notify();
      });
      set_connected(true);
      co_await read_loop();
      reader_ = nullptr;
      asio::error_code ignored;
      socket_.close(ignored);
      writer_wake_.notify();
      while (writer_running_) co_await writer_done_.wait();
      out_.clear();
      asked_.clear();
      set_connected(false);
      fail_pending(last_error_);
    }
    if (stopped_) break;
    timer_.expires_after(backoff);
    co_await timer_.async_wait(use_tuple);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

asio::awaitable<bool> Connection::connect_once() {
  socket_ = asio::ip::tcp::socket(io_);
  asio::error_code ec;
  const auto ip = asio::ip::make_address(options_.address.host, ec);
  if (ec) {
    last_error_ = options_.address.host + " is not an IP address";
    co_return false;
  }
  // The deadline closes the socket, which ends the connect; it does nothing once connected.
  timer_.expires_after(options_.connect_timeout);
  timer_.async_wait([this](const asio::error_code& error) {
    if (error || connected_) return;
    asio::error_code ignored;
    socket_.close(ignored);
  });
  auto [error] = co_await socket_.async_connect({ip, options_.address.port}, use_tuple);
  timer_.cancel();
  if (error || stopped_) {
    last_error_ = "cannot connect to " + options_.address.host + ":" +
                  std::to_string(options_.address.port) + ": " + error.message();
    co_return false;
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  co_return true;
}

// A Redis that accepts connections may not serve yet (LOADING its data after a restart): the
// connection counts as up only once a PING is answered, within the connect timeout.
asio::awaitable<bool> Connection::answers_ping(ReplyReader& reader) {
  // (Shared: a deadline that fired as the answer came runs after this coroutine moved on.)
  struct Deadline {
    bool answered = false;
    bool timed_out = false;
  };
  auto state = std::make_shared<Deadline>();
  timer_.expires_after(options_.connect_timeout);
  timer_.async_wait([this, state](const asio::error_code& error) {
    if (error || state->answered) return;
    state->timed_out = true;
    asio::error_code ignored;
    socket_.close(ignored);
  });
  const std::string ping = encode_command({"PING"});
  auto [write_error, written] = co_await asio::async_write(socket_, asio::buffer(ping), use_tuple);
  std::optional<Reply> reply;
  std::array<char, 512> buffer;
  while (!write_error && !reply) {
    auto [error, n] = co_await socket_.async_read_some(asio::buffer(buffer), use_tuple);
    if (error || !reader.feed({buffer.data(), n})) {
      write_error = error ? error : asio::error::invalid_argument;
      break;
    }
    reply = reader.next();
  }
  state->answered = true;
  timer_.cancel();
  if (reply && reply->type == Reply::Type::status && reply->text == "PONG" && !stopped_) {
    co_return true;
  }
  if (reply && reply->is_error()) {
    last_error_ = "Redis does not serve yet: " + reply->text;
  } else if (state->timed_out) {
    last_error_ = "Redis did not answer PING within the connect timeout";
  } else {
    last_error_ =
        "Redis did not answer PING: " + (reader.failed() ? reader.error() : write_error.message());
  }
  asio::error_code ignored;
  socket_.close(ignored);
  co_return false;
}

asio::awaitable<void> Connection::read_loop() {
  std::array<char, 16 * 1024> buffer;
  for (;;) {
    auto [error, n] = co_await socket_.async_read_some(asio::buffer(buffer), use_tuple);
    if (error) {
      last_error_ = error == asio::error::eof ? "Redis closed the connection" : error.message();
      co_return;
    }
    if (!reader_->feed({buffer.data(), n})) {
      last_error_ = "bad reply from Redis: " + reader_->error();
      co_return;
    }
    while (auto reply = reader_->next()) handle(std::move(*reply));
    if (reader_->failed() || !socket_.is_open()) {
      if (reader_->failed()) last_error_ = "bad reply from Redis: " + reader_->error();
      co_return;
    }
  }
}

asio::awaitable<void> Connection::write_loop() {
  while (socket_.is_open()) {
    if (out_.empty()) {
      co_await writer_wake_.wait();
      continue;
    }
    writing_.clear();
    writing_.swap(out_);
    auto [error, n] = co_await asio::async_write(socket_, asio::buffer(writing_), use_tuple);
    if (error) {
      asio::error_code ignored;
      socket_.close(ignored);  // the reader ends too
      co_return;
    }
  }
}

void Connection::handle(Reply reply) {
  if (options_.subscriber) return handle_subscriber(std::move(reply));
  if (pending_.empty()) {
    last_error_ = "a reply nobody asked for";
    asio::error_code ignored;
    socket_.close(ignored);
    return;
  }
  Done done = std::move(pending_.front());
  pending_.pop_front();
  done(std::move(reply));
}

// ["smessage", channel, payload], ["ssubscribe", channel, count], ["sunsubscribe", ...], or an
// error answering the oldest SSUBSCRIBE/SUNSUBSCRIBE.
void Connection::handle_subscriber(Reply reply) {
  const auto answered = [this](bool subscribe, const std::string& channel) {
    const auto it = std::find_if(asked_.begin(), asked_.end(), [&](const Asked& one) {
      return one.subscribe == subscribe && one.channel == channel;
    });
    if (it == asked_.end()) return false;
    asked_.erase(it);
    return true;
  };
  const auto dropped = [this](const std::string& channel) {
    if (channels_.erase(channel) == 1 && on_dropped) on_dropped(channel);
  };
  if (reply.is_error()) {
    if (asked_.empty()) return;
    const Asked refused = std::move(asked_.front());
    asked_.pop_front();
    spdlog::warn("redis {}:{}: {} {} refused: {}", options_.address.host, options_.address.port,
                 refused.subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE", refused.channel, reply.text);
    if (refused.subscribe) dropped(refused.channel);
    return;
  }
  if (reply.type != Reply::Type::array || reply.elements.size() != 3) return;
  const std::string& kind = reply.elements[0].text;
  const std::string& channel = reply.elements[1].text;
  if (kind == "smessage" && on_message) on_message(channel, reply.elements[2].text);
  if (kind == "ssubscribe") {
    answered(true, channel);
    if (on_subscribed) on_subscribed(channel);
  }
  if (kind == "sunsubscribe" && !answered(false, channel)) dropped(channel);  // ended by Redis
}

void Connection::fail_pending(const std::string& why) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (Done& done : pending) done(error_reply(why));
}

void Connection::set_connected(bool up) {
  if (connected_ == up) return;
  connected_ = up;
  if (up) {
    spdlog::info("redis: connected to {}:{}{}", options_.address.host, options_.address.port,
                 options_.subscriber ? " (subscriber)" : "");
  } else if (!stopped_) {
    spdlog::warn("redis: lost {}:{}: {}", options_.address.host, options_.address.port,
                 last_error_);
  }
  if (on_state) on_state(up);
}

}  // namespace chat::server::redis
