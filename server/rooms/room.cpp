#include "room.hpp"

#include <algorithm>

#include "history_page.hpp"
#include "names.hpp"

namespace chat::server {
namespace {

std::string in_flight_key(const std::string& sender_key, std::uint64_t client_msg_id) {
  return sender_key + '\n' + std::to_string(client_msg_id);
}

}  // namespace

SharedFrame room_message_frame(const v1::RoomMessage& message, const std::string& room) {
  v1::ServerFrame frame;
  *frame.mutable_room_message() = message;
  return encode_chat_frame(frame, room, message.seq());
}

SharedFrame presence_frame(const std::string& room, const Presence& presence) {
  using Change = Presence::Change;
  v1::ServerFrame event;
  switch (presence.change) {
    case Change::joined:
      event.mutable_member_joined()->set_room(room);
      event.mutable_member_joined()->set_nick(presence.nick);
      event.mutable_member_joined()->set_account(presence.account);
      event.mutable_member_joined()->set_real_name(presence.real_name);
      break;
    case Change::left:
      event.mutable_member_left()->set_room(room);
      event.mutable_member_left()->set_nick(presence.nick);
      event.mutable_member_left()->set_reason(presence.detail);
      event.mutable_member_left()->set_quit(presence.quit);
      break;
    case Change::renamed:
      event.mutable_nick_changed()->set_room(room);
      event.mutable_nick_changed()->set_old_nick(presence.detail);
      event.mutable_nick_changed()->set_new_nick(presence.nick);
      break;
  }
  return encode_frame(event, FramePriority::presence);
}

Room::Room(std::string name, std::size_t shard_count, bool clustered)
    : name_(std::move(name)),
      members_per_shard_(shard_count, 0),
      cluster_(clustered ? std::make_unique<ClusterRoom>() : nullptr) {}

v1::RoomInfo Room::info() const {
  v1::RoomInfo info;
  info.set_room(name_);
  info.set_member_count(static_cast<std::uint32_t>(member_total()));
  info.set_topic(topic_);
  info.set_last_seq(settled_seq());
  return info;
}

Room::Member* Room::find_member(std::uint64_t session_id) {
  auto it = members_.find(session_id);
  return it == members_.end() ? nullptr : &it->second;
}

bool Room::add_member(SessionRef who, std::string nick) {
  if (!members_.try_emplace(who.id, Member{who, std::move(nick)}).second) return false;
  ++members_per_shard_[who.shard];
  return true;
}

std::optional<std::string> Room::remove_member(SessionRef who) {
  auto it = members_.find(who.id);
  if (it == members_.end()) return std::nullopt;
  std::string nick = std::move(it->second.nick);
  members_.erase(it);
  --members_per_shard_[who.shard];
  return nick;
}

std::size_t Room::member_total() const {
  return members_.size() + (cluster_ ? cluster_->remote.size() : 0);
}

std::vector<const std::string*> Room::nicks(std::size_t limit) const {
  const std::size_t total = member_total();
  const std::size_t listed = limit == 0 ? total : std::min(limit, total);
  std::vector<const std::string*> nicks;
  nicks.reserve(listed);
  for (const auto& [id, member] : members_) {
    if (nicks.size() == listed) break;
    nicks.push_back(&member.nick);
  }
  if (cluster_) {
    for (const auto& [field, nick] : cluster_->remote.members()) {
      if (nicks.size() == listed) break;
      nicks.push_back(&nick);
    }
  }
  std::sort(nicks.begin(), nicks.end(),
            [](const std::string* a, const std::string* b) { return name_key_less(*a, *b); });
  return nicks;
}

void Room::drop_held_join(std::uint64_t session_id) {
  if (!cluster_) return;
  std::erase_if(cluster_->waiting_joins,
                [session_id](const JoinArgs& join) { return join.who.id == session_id; });
}

const std::deque<v1::RoomMessage>& Room::history() const {
  static const std::deque<v1::RoomMessage> none;
  return recent_ ? recent_->messages() : none;
}

void Room::remember(v1::RoomMessage&& message, std::size_t keep) {
  if (!recent_) recent_ = std::make_unique<RecentHistory>();
  recent_->push(std::move(message), keep);
}

void Room::replace_history(std::vector<v1::RoomMessage> recent, std::size_t keep) {
  recent_.reset();
  for (auto& message : recent) remember(std::move(message), keep);
}

v1::RoomMessage* Room::kept(std::uint64_t seq) { return recent_ ? recent_->find(seq) : nullptr; }

void Room::edit_kept(std::uint64_t seq, const std::string& text) {
  if (v1::RoomMessage* message = kept(seq)) {
    message->set_text(text);
    message->set_edited(true);
  }
}

void Room::delete_kept(std::uint64_t seq) {
  if (v1::RoomMessage* message = kept(seq)) {
    message->clear_text();
    message->set_deleted(true);
  }
}

const v1::RoomMessage* Room::kept_send(const std::string& sender_key,
                                       std::uint64_t client_msg_id) const {
  return recent_ ? recent_->find_sent(sender_key, client_msg_id) : nullptr;
}

void Room::forget_older_than(std::int64_t cutoff_ms) {
  if (recent_) recent_->drop_older_than(cutoff_ms);
}

void Room::keep_newest(std::size_t count) {
  if (recent_) recent_->trim(count);
}

std::vector<SharedFrame> Room::catch_up_frames(const JoinArgs& join, std::size_t budget) const {
  const auto& recent = history();
  std::uint64_t after = 0;
  if (join.resume_after) {
    after =
        std::min(*join.resume_after, settled_seq());  // a sequence in the future: nothing missed
  } else {
    after = settled_seq() - std::min<std::uint64_t>(settled_seq(), join.history);
  }
  std::vector<SharedFrame> messages;  // newest first while collecting
  std::uint64_t first_sent = settled_seq() + 1;
  for (auto it = recent.rbegin(); it != recent.rend() && it->seq() > after; ++it) {
    SharedFrame frame = room_message_frame(*it, name_);
    if (frame->bytes.size() > budget) break;
    budget -= frame->bytes.size();
    first_sent = it->seq();
    messages.push_back(std::move(frame));
  }
  std::vector<SharedFrame> frames;
  if (join.resume_after && after + 1 < first_sent) {
    v1::ServerFrame frame;
    auto* gap = frame.mutable_gap();
    gap->set_room(name_);
    gap->set_from_seq(after + 1);
    gap->set_to_seq(first_sent - 1);
    frames.push_back(encode_frame(frame));
  }
  frames.insert(frames.end(), messages.rbegin(), messages.rend());
  return frames;
}

std::optional<v1::HistoryReply> Room::history_from_memory(const v1::History& query,
                                                          std::uint32_t limit,
                                                          std::size_t budget) const {
  const auto& recent = history();
  const std::uint64_t settled = settled_seq();
  const std::uint64_t oldest = recent.empty() ? settled + 1 : recent.front().seq();
  // Select [first, last] of the sequences asked for.
  std::uint64_t first = 1;
  std::uint64_t last = settled;
  if (query.position_case() == v1::History::kAfterSeq) {
    first = query.after_seq() + 1;
    last = std::min<std::uint64_t>(settled, query.after_seq() + limit);
    if (query.after_seq() >= settled) last = 0;  // nothing after it
  } else if (query.position_case() == v1::History::kBeforeSeq) {
    last = std::min(settled, query.before_seq() == 0 ? 0 : query.before_seq() - 1);
    first = last >= limit ? last - limit + 1 : 1;
  } else {
    first = settled >= limit ? settled - limit + 1 : 1;
  }
  if (last >= first && first < oldest) return std::nullopt;
  v1::HistoryReply reply;
  reply.set_room(name_);
  const bool ascending = query.position_case() == v1::History::kAfterSeq;
  const bool cut = add_within(reply, recent, first, last, ascending, budget);
  if (ascending) {
    reply.set_has_more(cut || (last < settled && last != 0));
  } else {
    reply.set_has_more(cut || first > 1);
  }
  return reply;
}

bool Room::start_send(const std::string& sender_key, std::uint64_t client_msg_id,
                      const Requester& sender) {
  auto [entry, fresh] = in_flight_.try_emplace(in_flight_key(sender_key, client_msg_id));
  if (!fresh) entry->second.push_back(sender);
  return fresh;
}

std::vector<Requester> Room::finish_send(const std::string& sender_key,
                                         std::uint64_t client_msg_id) {
  auto entry = in_flight_.find(in_flight_key(sender_key, client_msg_id));
  if (entry == in_flight_.end()) return {};
  std::vector<Requester> waiting = std::move(entry->second);
  in_flight_.erase(entry);
  return waiting;
}

}  // namespace chat::server
