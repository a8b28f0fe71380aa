#include "script_view.hpp"

#include "json_lines.hpp"

namespace chat::client::app {

void ScriptView::line(const std::string& json) {
  std::fputs(json.c_str(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void ScriptView::event(const ClientEvent& event, std::string_view) {
  line(json_client_event(event));
}

void ScriptView::joined(const v1::JoinReply& reply) { line(json_event("joined", reply)); }

void ScriptView::left(std::string_view room) { line(json_text("left", "room", room)); }

void ScriptView::members(const v1::MemberList& list) { line(json_event("members", list)); }

void ScriptView::rooms(const v1::RoomList& list,
                       const std::map<std::string, std::uint64_t>& unread) {
  std::string json = json_event("rooms", list);
  json.pop_back();
  json += ",\"unread\":{";
  bool first = true;
  for (const auto& [room, count] : unread) {
    if (!first) json += ',';
    json.append(json_string(room)).append(":").append(std::to_string(count));
    first = false;
  }
  line(json + "}}");
}

void ScriptView::history(const v1::HistoryReply& reply) { line(json_event("history", reply)); }

void ScriptView::topic(std::string_view room, std::string_view topic) {
  line("{\"event\":\"topic\",\"room\":" + json_string(room) + ",\"topic\":" + json_string(topic) +
       "}");
}

void ScriptView::sent(const v1::Ack& ack) { line(json_event("sent", ack)); }

void ScriptView::direct_sent(std::string_view to, std::string_view text, std::uint64_t id) {
  line("{\"event\":\"direct_sent\",\"to\":" + json_string(to) + ",\"text\":" + json_string(text) +
       ",\"client_msg_id\":\"" + std::to_string(id) + "\"}");
}

void ScriptView::info(std::string_view text) { line(json_text("info", "text", text)); }

void ScriptView::error(std::string_view text) {
  line(json_text("error", "message", text));
  std::fprintf(err_, "chat-client: %.*s\n", static_cast<int>(text.size()), text.data());
  std::fflush(err_);
}

}  // namespace chat::client::app
