#include "message_order.hpp"

namespace chat::server {

void MessageOrder::reset(std::uint64_t settled) {
  settled_ = settled;
  ahead_.clear();
}

bool MessageOrder::arrive(v1::RoomMessage message, Output& out) {
  return !apply(std::move(message), reads_asked_, out) && !reading_;
}

MessageOrder::Read MessageOrder::start_read() {
  reading_ = true;
  return {.number = ++reads_asked_, .after = settled_};
}

MessageOrder::Next MessageOrder::on_answer(std::uint64_t read, Answer answer, bool log_reachable,
                                           Output& out) {
  const std::uint64_t last_read = answer.messages.empty() ? 0 : answer.messages.back().seq();
  // Asked before this read was answered: a message past a hole waits for this answer's verdict.
  bool held_one = false;
  for (auto& message : answer.messages) held_one |= !apply(std::move(message), read - 1, out);
  if (read != reads_asked_) return held_one && !reading_ ? Next::read_now : Next::nothing;
  reading_ = false;
  if (!answer.ok) {
    if (!log_reachable) return Next::nothing;
    if (++failed_reads_ < 3) return Next::read_later;
    skip_hole(out);
  } else {
    failed_reads_ = 0;
    // The log, read after the message past the hole arrived, lacks the hole: it is gone for good.
    // Unless the page ended before the hole: the rest is read first.
    if (!ahead_.empty() && ahead_.begin()->second.reads_before < read &&
        (!answer.has_more || ahead_.begin()->first <= last_read)) {
      skip_hole(out);
    }
  }
  return answer.has_more || !ahead_.empty() ? Next::read_now : Next::nothing;
}

bool MessageOrder::apply(v1::RoomMessage message, std::uint64_t reads_before, Output& out) {
  const std::uint64_t seq = message.seq();
  if (seq <= settled_) {
    out.stale(message);
    return true;
  }
  if (seq > settled_ + 1) {
    ahead_.try_emplace(seq, Held{std::move(message), reads_before});
    return false;
  }
  deliver(std::move(message), out);
  return true;
}

void MessageOrder::deliver(v1::RoomMessage message, Output& out) {
  settled_ = message.seq();
  out.deliver(std::move(message));
  while (!ahead_.empty() && ahead_.begin()->first <= settled_ + 1) {
    auto next = ahead_.extract(ahead_.begin());
    if (next.key() == settled_ + 1) {
      settled_ = next.key();
      out.deliver(std::move(next.mapped().message));
    }
  }
}

void MessageOrder::skip_hole(Output& out) {
  if (ahead_.empty()) return;
  const std::uint64_t next = ahead_.begin()->first;
  out.skipped(settled_ + 1, next - 1);
  settled_ = next - 1;
  auto first = ahead_.extract(ahead_.begin());
  deliver(std::move(first.mapped().message), out);
}

}  // namespace chat::server
