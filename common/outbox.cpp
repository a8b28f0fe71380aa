#include "outbox.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "chat.pb.h"

namespace chat {
namespace {

struct SeqRange {
  std::uint64_t from;
  std::uint64_t to;
  std::size_t position;  // where in the rebuilt queue the Gap goes
};

SharedFrame encode_gap(const std::string& room, SeqRange range) {
  v1::ServerFrame frame;
  auto* gap = frame.mutable_gap();
  gap->set_room(room);
  gap->set_from_seq(range.from);
  gap->set_to_seq(range.to);
  return encode_frame(frame, FramePriority::control);
}

}  // namespace

void Outbox::enqueue(SharedFrame frame) {
  bytes_ += frame->bytes.size();
  queue_.push_back(std::move(frame));
}

void Outbox::push_unbounded(SharedFrame frame) { enqueue(std::move(frame)); }

PushResult Outbox::push(SharedFrame frame) {
  const std::size_t after = bytes_ + frame->bytes.size();
  if (frame->priority == FramePriority::presence && after > limits_.soft_bytes) {
    ++counters_.presence_dropped;
    return PushResult::dropped;
  }
  if (after > limits_.hard_bytes) {
    if (frame->priority == FramePriority::control && after <= 2 * limits_.hard_bytes) {
      enqueue(std::move(frame));
      return PushResult::queued;
    }
    if (collapsed_without_progress_) return PushResult::overflow;
    collapse_backlog();
    if (bytes_ + frame->bytes.size() > limits_.hard_bytes) return PushResult::overflow;
  }
  enqueue(std::move(frame));
  return PushResult::queued;
}

void Outbox::collapse_backlog() {
  std::map<std::string, SeqRange> gaps;
  std::vector<SharedFrame> kept;
  for (std::size_t i = 0; i < size(); ++i) {
    SharedFrame& frame = queue_[head_ + i];
    if (i < in_flight_ || frame->priority == FramePriority::control) {
      kept.push_back(std::move(frame));
    } else if (frame->priority == FramePriority::presence) {
      ++counters_.presence_dropped;
    } else {
      ++counters_.messages_gapped;
      auto [it, inserted] =
          gaps.try_emplace(frame->room, SeqRange{frame->seq, frame->seq, kept.size()});
      if (inserted) {
        kept.push_back(nullptr);  // the Gap's place, filled below
      } else {
        it->second.from = std::min(it->second.from, frame->seq);
        it->second.to = std::max(it->second.to, frame->seq);
      }
    }
  }
  for (const auto& [room, range] : gaps) kept[range.position] = encode_gap(room, range);
  queue_ = std::move(kept);
  head_ = 0;
  bytes_ = 0;
  for (const SharedFrame& frame : queue_) bytes_ += frame->bytes.size();
  ++counters_.collapses;
  collapsed_without_progress_ = true;
}

void Outbox::discard_pending() {
  while (size() > in_flight_) {
    bytes_ -= queue_.back()->bytes.size();
    queue_.pop_back();
  }
}

std::size_t Outbox::begin_batch() {
  std::size_t count = 0;
  std::size_t batch_bytes = 0;
  while (count < size() && count < limits_.batch_max_frames) {
    const std::size_t frame_bytes = frame(count).bytes.size();
    if (count > 0 && batch_bytes + frame_bytes > limits_.batch_max_bytes) break;
    batch_bytes += frame_bytes;
    ++count;
  }
  in_flight_ = count;
  return count;
}

void Outbox::complete_batch() {
  for (std::size_t i = 0; i < in_flight_; ++i) {
    bytes_ -= queue_[head_]->bytes.size();
    queue_[head_++].reset();
  }
  if (head_ == queue_.size()) {
    if (queue_.capacity() > 64) {
      std::vector<SharedFrame>().swap(queue_);  // a burst is over: give its memory back
    } else {
      queue_.clear();
    }
    head_ = 0;
  } else if (head_ > 1024 && head_ * 2 > queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  if (in_flight_ > 0) collapsed_without_progress_ = false;
  in_flight_ = 0;
}

}  // namespace chat
