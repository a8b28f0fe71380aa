#pragma once
// The view for people: formatted, optionally coloured lines printed above the prompt.

#include "formatter.hpp"
#include "terminal.hpp"
#include "view.hpp"

namespace chat::client::app {

class TerminalView final : public View {
 public:
  TerminalView(Terminal& terminal, bool color) : terminal_(terminal), format_(color) {}

  void event(const ClientEvent& event, std::string_view current_room) override;
  void joined(const v1::JoinReply& reply) override;
  void left(std::string_view room) override;
  void members(const v1::MemberList& list) override;
  void rooms(const v1::RoomList& list, const std::map<std::string, std::uint64_t>& unread) override;
  void history(const v1::HistoryReply& reply) override;
  void topic(std::string_view room, std::string_view topic) override;
  void sent(const v1::Ack&) override {}  // the room echoes the message itself
  void direct_sent(std::string_view to, std::string_view text, std::uint64_t id) override;
  void info(std::string_view text) override { terminal_.print(format_.info(text)); }
  void error(std::string_view text) override { terminal_.print(format_.error(text)); }
  void room_changed(std::string_view room) override;

 private:
  void recovered(const RecoveredEvent& event, std::string_view current_room);

  Terminal& terminal_;
  Formatter format_;
};

}  // namespace chat::client::app
