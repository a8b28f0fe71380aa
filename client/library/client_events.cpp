// What the server pushes: replies go to their waiting calls, events to the event queue; sequence
// tracking, resume and gap recovery happen on the way.
#include <asio/co_spawn.hpp>

#include <spdlog/spdlog.h>

#include "client.hpp"
#include "client_internals.hpp"
#include "logging.hpp"
#include "names.hpp"

namespace chat::client {
namespace {

std::string describe_disconnect(const v1::Disconnect& disconnect) {
  std::string text =
      "disconnected by the server (" + v1::Disconnect::Reason_Name(disconnect.reason()) + ")";
  if (!disconnect.message().empty()) text += ": " + disconnect.message();
  return text;
}

}  // namespace

void Client::dispatch(v1::ServerFrame& frame) {
  if (frame.request_id() != 0) {
    if (auto send = send_requests_.find(frame.request_id()); send != send_requests_.end()) {
      const std::uint64_t client_msg_id = send->second;
      send_requests_.erase(send);
      on_send_reply(client_msg_id, frame);
    } else {
      complete(frame.request_id(), frame);
    }
    return;
  }
  switch (frame.payload_case()) {
    case v1::ServerFrame::kRoomMessage:
      on_room_message(frame);
      return;
    case v1::ServerFrame::kGap:
      on_server_gap(frame.gap());
      break;
    case v1::ServerFrame::kJoinReply:
      on_resumed(frame.join_reply());
      return;
    case v1::ServerFrame::kPing: {
      v1::ClientFrame pong;  // any request counts as activity; a Ping also measures the trip
      pong.mutable_ping()->set_nonce(frame.ping().nonce());
      write(pong);
      return;
    }
    case v1::ServerFrame::kDisconnect:
      lost_reason_ = describe_disconnect(frame.disconnect());
      if (frame.disconnect().retry_after_ms() > 0) {
        server_retry_after_ = std::chrono::milliseconds(frame.disconnect().retry_after_ms());
      }
      break;
    case v1::ServerFrame::kPong:
      return;
    default:
      break;
  }
  emit(std::move(frame));
}

void Client::on_room_message(v1::ServerFrame& frame) {
  const v1::RoomMessage& message = frame.room_message();
  JoinedRoom* room = find_room(message.room());
  if (room) {
    const auto verdict = room->tracker.on_message(message.seq());
    if (!verdict.deliver) return;  // replayed twice
    if (verdict.missed) fill_gap(room->name, *verdict.missed);
  }
  // A replayed copy of a message sent before the connection was lost: it is stored, so its
  // send is done (only while it waits to be sent again; otherwise its Ack is on the way).
  if (message.client_msg_id() != 0 && name_key(message.from()) == name_key(nick_) &&
      unsent_.contains(message.client_msg_id())) {
    v1::ServerFrame ack;
    ack.mutable_ack()->set_room(message.room());
    ack.mutable_ack()->set_seq(message.seq());
    ack.mutable_ack()->set_client_msg_id(message.client_msg_id());
    ack.mutable_ack()->set_duplicate(true);
    on_send_reply(message.client_msg_id(), ack);
  }
  emit(std::move(frame));
  if (room) check_resumed(*room);
}

void Client::on_server_gap(const v1::Gap& gap) {
  JoinedRoom* room = find_room(gap.room());
  if (!room) return;
  room->tracker.on_gap(gap.to_seq());
  if (gap.from_seq() <= gap.to_seq()) fill_gap(room->name, SeqRange{gap.from_seq(), gap.to_seq()});
  check_resumed(*room);
}

void Client::on_resumed(const v1::JoinReply& reply) {
  JoinedRoom* room = find_room(reply.room());
  if (!room) return;
  emit(ResumedEvent{room->name, room->tracker.missed_before(reply.last_seq())});
  room->resume_until = reply.last_seq();
  check_resumed(*room);
}

void Client::check_resumed(JoinedRoom& room) {
  if (room.ready || room.tracker.last_seen() < room.resume_until) return;
  room.ready = true;
  sender_wake_.notify();
}

void Client::on_send_reply(std::uint64_t client_msg_id, const v1::ServerFrame& frame) {
  auto it = sends_.find(client_msg_id);
  if (it == sends_.end() || it->second->waiter.done()) return;
  Waiter& waiter = it->second->waiter;
  if (frame.has_error() && frame.error().code() == v1::Error::RATE_LIMITED) {
    unsent_.insert(client_msg_id);  // again, after the pause the server asked for
    send_pause_until_ = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max(frame.error().retry_after_ms(), 50u));
    waiter.timer.expires_at(std::chrono::steady_clock::time_point::max());
    sender_wake_.notify();
    return;
  }
  unsent_.erase(client_msg_id);
  waiter.reply = frame;
  waiter.timer.cancel();
}

std::optional<std::uint64_t> Client::next_ready_send() {
  if (!connected_) return std::nullopt;
  for (auto it = unsent_.begin(); it != unsent_.end();) {
    auto pending = sends_.find(*it);
    if (pending == sends_.end() || pending->second->waiter.done()) {
      it = unsent_.erase(it);
      continue;
    }
    const JoinedRoom* room = find_room(pending->second->room);
    if (!room) {
      pending->second->waiter.fail(
          Failure{v1::Error::NOT_IN_ROOM, "left " + pending->second->room + " before sending", 0});
      it = unsent_.erase(it);
      continue;
    }
    if (room->ready) return *it;
    ++it;
  }
  return std::nullopt;
}

void Client::transmit(std::uint64_t client_msg_id) {
  PendingSend& pending = *sends_.at(client_msg_id);
  unsent_.erase(client_msg_id);
  v1::ClientFrame frame;
  const std::uint64_t request_id = next_request_id_++;
  frame.set_request_id(request_id);
  auto* send = frame.mutable_send();
  send->set_room(pending.room);
  send->set_text(pending.text);
  send->set_client_msg_id(client_msg_id);
  send->set_action(pending.action);
  send_requests_[request_id] = client_msg_id;
  pending.waiter.timer.expires_after(options_.request_timeout);
  write(frame);
}

void Client::fill_gap(const std::string& room, SeqRange range) {
  auto self = shared_from_this();
  asio::co_spawn(
      executor_, [self, room, range] { return self->recover(room, range); },
      [](std::exception_ptr error) {
        if (error) spdlog::error("chat client: {}", describe_exception(error));
      });
}

asio::awaitable<void> Client::recover(std::string room, SeqRange range) {
  RecoveredEvent recovered{room, range.from, range.to, {}};
  const std::uint32_t page = std::max<std::uint32_t>(1, welcome_.limits().max_history());
  std::uint64_t next = range.from;
  int failures = 0;
  while (next <= range.to && !closed_ && find_room(room)) {
    if (!connected_) {  // lost on the way: go on after the reconnect
      co_await reconnected_.wait();
      continue;
    }
    v1::History query;
    query.set_room(room);
    query.set_after_seq(next - 1);
    query.set_limit(static_cast<std::uint32_t>(std::min<std::uint64_t>(page, range.to - next + 1)));
    auto reply = co_await history(std::move(query));
    if (!reply) {
      if (reply.failure().code == v1::Error::UNAVAILABLE && ++failures < 5) continue;
      break;
    }
    const std::uint64_t before = next;
    if (reply.value().has_gap() && reply.value().gap().to_seq() >= next) {
      next = reply.value().gap().to_seq() + 1;  // not kept by the server: lost
    }
    for (const v1::RoomMessage& message : reply.value().messages()) {
      if (message.seq() < next || message.seq() > range.to) continue;
      recovered.messages.push_back(message);
      next = message.seq() + 1;
    }
    if (next == before || !reply.value().has_more()) break;
  }
  emit(std::move(recovered));
}

}  // namespace chat::client
