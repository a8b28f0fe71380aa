#pragma once
// Script mode's view: every event and every command's outcome as one JSON line on stdout; errors
// also as one plain line on stderr.

#include <cstdio>

#include "view.hpp"

namespace chat::client::app {

class ScriptView final : public View {
 public:
  explicit ScriptView(std::FILE* out = stdout, std::FILE* err = stderr) : out_(out), err_(err) {}

  void event(const ClientEvent& event, std::string_view current_room) override;
  void joined(const v1::JoinReply& reply) override;
  void left(std::string_view room) override;
  void members(const v1::MemberList& list) override;
  void rooms(const v1::RoomList& list, const std::map<std::string, std::uint64_t>& unread) override;
  void history(const v1::HistoryReply& reply) override;
  void topic(std::string_view room, std::string_view topic) override;
  void sent(const v1::Ack& ack) override;
  void direct_sent(std::string_view to, std::string_view text, std::uint64_t id) override;
  void info(std::string_view text) override;
  void error(std::string_view text) override;

 private:
  void line(const std::string& json);

  std::FILE* out_;
  std::FILE* err_;
};

}  // namespace chat::client::app
