#pragma once
// Turns what happens into lines a person reads at a glance: a timestamp, a stable colour per nick,
// presence and errors set apart from messages. Colour is optional (off when stdout is not a
// terminal or NO_COLOR is set). Pure logic.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chat.pb.h"
#include "events.hpp"

namespace chat::client::app {

// "HH:MM" in local time.
std::string format_clock(std::int64_t unix_ms);
// An ANSI colour code for a nick: the same nick always gets the same colour.
int nick_color(std::string_view nick);

class Formatter {
 public:
  explicit Formatter(bool color) : color_(color) {}

  // show_room: prefix "[room]" (for rooms other than the current one).
  std::string message(const v1::RoomMessage& message, bool show_room) const;
  std::string direct(const v1::DirectMessage& message) const;
  std::string direct_sent(std::string_view to, std::string_view text) const;
  std::string info(std::string_view text) const;   // "-- text", dimmed
  std::string error(std::string_view text) const;  // "!! text", red
  std::string marker(std::string_view text) const;  // "── text ──", a recovered-history fence
  // A line for an event the server pushed; nothing for events not worth a line (own typing...).
  std::optional<std::string> event(const v1::ServerFrame& frame,
                                   std::string_view current_room) const;
  std::string connection(const ConnectionEvent& event) const;
  std::string resumed(const ResumedEvent& event) const;

 private:
  std::string paint(std::string_view text, int code) const;
  std::string nick(std::string_view nick) const;

  bool color_;
};

}  // namespace chat::client::app
