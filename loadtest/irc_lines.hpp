#pragma once
// chat-loadtest's IRC client lines (--transport irc), free of I/O: a ClientFrame request becomes
// the IRC line(s) that ask for the same (registration, JOIN, PRIVMSG, PONG), and a server line is
// read into the one event the load client acts on. A room "#lt0" is the channel "##lt0"
// (docs/irc.md); sequences come from the msgid tag (SEQ/ROOM) and acknowledgements from
// echo-message, which echoes a message once it is durable.

#include <cstdint>
#include <string>
#include <string_view>

#include "chat.pb.h"

namespace chat::loadtest {

struct IrcEvent {
  enum class Kind {
    other,        // nothing the load client needs (MOTD, NAMES, someone's JOIN, ...)
    welcome,      // 001: registered
    nick_in_use,  // 433: the nick is held (by the connection just closed)
    joined,       // 366, end of NAMES: a JOIN is complete
    message,      // a PRIVMSG to a channel with its msgid
    ping,         // PING: text is the token to answer
    error,        // an error numeric (400-599) or FAIL: counted, the connection goes on
    closing,      // ERROR: the server closes the connection
  };
  Kind kind = Kind::other;
  std::string_view room;  // without the channel's '#'
  std::uint64_t seq = 0;
  std::string_view nick;  // the message's sender
  std::string_view text;  // the message's text, or the PING token
};

// The lines that ask for what frame asks: Hello (registration with echo-message and message-tags),
// Join and Send. Other requests are not spoken over IRC by the load test.
void append_irc_request(std::string& out, const v1::ClientFrame& frame);
void append_irc_pong(std::string& out, std::string_view token);

// One line, without its CR LF.
IrcEvent read_irc_event(std::string_view line);

}  // namespace chat::loadtest
