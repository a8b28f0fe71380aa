#include "terminal_view.hpp"

namespace chat::client::app {

void TerminalView::event(const ClientEvent& event, std::string_view current_room) {
  if (const auto* frame = std::get_if<v1::ServerFrame>(&event)) {
    if (auto line = format_.event(*frame, current_room)) terminal_.print(*line);
  } else if (const auto* connection = std::get_if<ConnectionEvent>(&event)) {
    terminal_.print(format_.connection(*connection));
  } else if (const auto* resumed = std::get_if<ResumedEvent>(&event)) {
    terminal_.print(format_.resumed(*resumed));
  } else {
    recovered(std::get<RecoveredEvent>(event), current_room);
  }
}

void TerminalView::recovered(const RecoveredEvent& event, std::string_view current_room) {
  const std::uint64_t wanted = event.to_seq - event.from_seq + 1;
  terminal_.print(format_.marker("recovered " + std::to_string(event.messages.size()) + " of " +
                                 std::to_string(wanted) + " missed messages in " + event.room));
  for (const auto& message : event.messages) {
    terminal_.print(format_.message(message, message.room() != current_room));
  }
  terminal_.print(format_.marker("end of recovered messages"));
}

void TerminalView::joined(const v1::JoinReply& reply) {
  std::string text = "joined " + reply.room() + " (" + std::to_string(reply.member_count()) +
                     (reply.member_count() == 1 ? " member)" : " members)");
  if (!reply.topic().empty()) text += ", topic: " + reply.topic();
  terminal_.print(format_.info(text));
}

void TerminalView::left(std::string_view room) {
  terminal_.print(format_.info("left " + std::string(room)));
}

void TerminalView::members(const v1::MemberList& list) {
  std::string text = "in " + list.room() + ":";
  for (const std::string& nick : list.nicks()) text += " " + nick;
  terminal_.print(format_.info(text));
}

void TerminalView::rooms(const v1::RoomList& list,
                         const std::map<std::string, std::uint64_t>& unread) {
  if (list.rooms().empty()) terminal_.print(format_.info("no rooms yet: /join one"));
  for (const v1::RoomInfo& room : list.rooms()) {
    std::string text = room.room() + " (" + std::to_string(room.member_count()) + ")";
    if (auto it = unread.find(room.room()); it != unread.end()) {
      text += it->second ? ", " + std::to_string(it->second) + " unread" : ", joined";
    }
    if (!room.topic().empty()) text += ": " + room.topic();
    terminal_.print(format_.info(text));
  }
  if (list.truncated()) terminal_.print(format_.info("(more rooms not shown)"));
}

void TerminalView::history(const v1::HistoryReply& reply) {
  terminal_.print(format_.marker("history of " + reply.room()));
  if (reply.has_gap()) {
    terminal_.print(format_.info("messages " + std::to_string(reply.gap().from_seq()) + " to " +
                                 std::to_string(reply.gap().to_seq()) + " are no longer kept"));
  }
  for (const auto& message : reply.messages()) terminal_.print(format_.message(message, false));
  terminal_.print(format_.marker("end of history"));
}

void TerminalView::topic(std::string_view room, std::string_view topic) {
  terminal_.print(format_.info(topic.empty()
                                   ? std::string(room) + " has no topic"
                                   : "topic of " + std::string(room) + ": " + std::string(topic)));
}

void TerminalView::direct_sent(std::string_view to, std::string_view text, std::uint64_t) {
  terminal_.print(format_.direct_sent(to, text));
}

void TerminalView::room_changed(std::string_view room) {
  std::string prompt = "> ";
  if (!room.empty()) prompt = std::string("[").append(room).append("] ");
  terminal_.set_prompt(std::move(prompt));
}

}  // namespace chat::client::app
