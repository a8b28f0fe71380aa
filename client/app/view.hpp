#pragma once
// Where the app shows things: a terminal for people (TerminalView) or JSON lines for scripts
// (ScriptView). The app decides what happened; a view decides how it looks.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "chat.pb.h"
#include "events.hpp"

namespace chat::client::app {

class View {
 public:
  virtual ~View() = default;
  virtual void event(const ClientEvent& event, std::string_view current_room) = 0;
  virtual void joined(const v1::JoinReply& reply) = 0;
  virtual void left(std::string_view room) = 0;
  virtual void members(const v1::MemberList& list) = 0;
  // unread: joined rooms (by name) and their unread counts.
  virtual void rooms(const v1::RoomList& list,
                     const std::map<std::string, std::uint64_t>& unread) = 0;
  virtual void history(const v1::HistoryReply& reply) = 0;
  virtual void topic(std::string_view room, std::string_view topic) = 0;
  virtual void sent(const v1::Ack& ack) = 0;
  virtual void direct_sent(std::string_view to, std::string_view text, std::uint64_t id) = 0;
  virtual void info(std::string_view text) = 0;
  virtual void error(std::string_view text) = 0;
  // The current room changed (empty: none).
  virtual void room_changed(std::string_view /*room*/) {}
};

}  // namespace chat::client::app
