#include "formatter.hpp"

#include <ctime>

namespace chat::client::app {
namespace {

constexpr int dim = 2;
constexpr int red = 31;
constexpr int bold = 1;

std::string seconds_text(std::chrono::milliseconds delay) {
  if (delay < std::chrono::seconds(1)) return std::to_string(delay.count()) + "ms";
  return std::to_string((delay.count() + 500) / 1000) + "s";
}

}  // namespace

std::string format_clock(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[8];
  std::strftime(text, sizeof text, "%H:%M", &local);
  return text;
}

int nick_color(std::string_view nick) {
  static constexpr int palette[] = {31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96};
  std::uint32_t hash = 2166136261u;  // FNV-1a over the case-folded nick
  for (char c : nick) {
    const char folded = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    hash = (hash ^ static_cast<unsigned char>(folded)) * 16777619u;
  }
  return palette[hash % std::size(palette)];
}

std::string Formatter::paint(std::string_view text, int code) const {
  if (!color_) return std::string(text);
  return "\033[" + std::to_string(code) + "m" + std::string(text) + "\033[0m";
}

std::string Formatter::nick(std::string_view name) const { return paint(name, nick_color(name)); }

std::string Formatter::message(const v1::RoomMessage& message, bool show_room) const {
  std::string line = paint(format_clock(message.server_time_ms()), dim) + " ";
  if (show_room) line += "[" + message.room() + "] ";
  if (message.deleted()) return line + paint("(" + message.from() + " deleted a message)", dim);
  line += message.action() ? "* " : "<";
  line += nick(message.from());
  line += message.action() ? " " : "> ";
  line += message.text();
  if (message.edited()) line.append(" ").append(paint("(edited)", dim));
  return line;
}

std::string Formatter::direct(const v1::DirectMessage& message) const {
  std::string line = paint(format_clock(message.server_time_ms()), dim) + " " + paint("*", bold) +
                     nick(message.from()) + paint("*", bold) + " ";
  if (message.action()) line.append("* ").append(message.from()).append(" ");
  return line + message.text();
}

std::string Formatter::direct_sent(std::string_view to, std::string_view text) const {
  return paint("-> *", dim) + nick(to) + paint("*", dim) + " " + std::string(text);
}

std::string Formatter::info(std::string_view text) const {
  return paint("-- " + std::string(text), dim);
}

std::string Formatter::error(std::string_view text) const {
  return paint("!! " + std::string(text), red);
}

std::string Formatter::marker(std::string_view text) const {
  return paint("── " + std::string(text) + " ──", dim);
}

std::optional<std::string> Formatter::event(const v1::ServerFrame& frame,
                                            std::string_view current_room) const {
  switch (frame.payload_case()) {
    case v1::ServerFrame::kRoomMessage:
      return message(frame.room_message(), frame.room_message().room() != current_room);
    case v1::ServerFrame::kDirectMessage:
      return direct(frame.direct_message());
    case v1::ServerFrame::kMemberJoined:
      return info(frame.member_joined().nick() + " joined " + frame.member_joined().room());
    case v1::ServerFrame::kMemberLeft: {
      const auto& left = frame.member_left();
      std::string text = left.nick() + " left " + left.room();
      if (!left.reason().empty() && left.reason() != "left") text += " (" + left.reason() + ")";
      return info(text);
    }
    case v1::ServerFrame::kNickChanged:
      return info(frame.nick_changed().old_nick() + " is now " + frame.nick_changed().new_nick() +
                  " in " + frame.nick_changed().room());
    case v1::ServerFrame::kTopicChanged:
      return info(frame.topic_changed().by() + " set the topic of " + frame.topic_changed().room() +
                  ": " + frame.topic_changed().topic());
    case v1::ServerFrame::kMessageEdited:
      return info(frame.message_edited().by() + " edited #" +
                  std::to_string(frame.message_edited().seq()) + ": " +
                  frame.message_edited().text());
    case v1::ServerFrame::kMessageDeleted:
      return info(frame.message_deleted().by() + " deleted #" +
                  std::to_string(frame.message_deleted().seq()));
    case v1::ServerFrame::kGap:
      return marker(std::to_string(frame.gap().to_seq() - frame.gap().from_seq() + 1) +
                    " messages missed in " + frame.gap().room() + ", fetching them");
    case v1::ServerFrame::kDisconnect:
      return error("server: " + frame.disconnect().message());
    case v1::ServerFrame::kError:
      return error(frame.error().message());
    case v1::ServerFrame::kDirectReceipt:
    case v1::ServerFrame::kTyping:
    default:
      return std::nullopt;
  }
}

std::string Formatter::connection(const ConnectionEvent& event) const {
  switch (event.state) {
    case ConnectionState::connecting:
      return info("connecting to " + event.detail);
    case ConnectionState::connected:
      return info("connected to " + event.detail);
    case ConnectionState::reconnecting:
      return error((event.detail.empty() ? std::string("connection lost") : event.detail) +
                   "; reconnecting in " + seconds_text(event.retry_in));
    case ConnectionState::closed:
    default:
      return info("disconnected" + (event.detail.empty() ? "" : ": " + event.detail));
  }
}

std::string Formatter::resumed(const ResumedEvent& event) const {
  return info("resumed " + event.room + ": " + std::to_string(event.missed) + " missed message" +
              (event.missed == 1 ? "" : "s"));
}

}  // namespace chat::client::app
