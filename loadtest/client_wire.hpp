#pragma once
// How a load client's frames go on the wire, free of I/O: chat.v1's length-prefixed protobuf on
// the chat port, (--transport ws) one masked binary WebSocket message per frame after an
// upgrade to subprotocol chat.v1 on the web listener's /ws, or (--transport irc) the IRC lines
// that ask for the same (irc_lines.hpp) on the IRC listener.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chat.pb.h"
#include "options.hpp"

namespace chat::loadtest {

// What the server sent, one unit at a time.
struct ServerUnit {
  enum class Kind { frame, line, ping, close, other };
  Kind kind = Kind::other;
  std::string_view body;  // a ServerFrame's bytes, an IRC line (no CR LF), or a ping's payload
};

enum class UnitStatus { need_more, unit, error };

class ClientWire {
 public:
  static constexpr std::size_t max_server_frame = 16 * 1024 * 1024;
  static constexpr std::size_t max_irc_line = 8191 + 512;  // tags and the rest (IRCv3)

  explicit ClientWire(Transport transport, std::uint32_t mask_seed = 1)
      : transport_(transport), mask_state_(mask_seed | 1) {}

  Transport transport() const { return transport_; }
  void append(std::string& out, const v1::ClientFrame& frame);
  // A masked pong for a WebSocket ping; PONG for IRC's PING.
  void append_pong(std::string& out, std::string_view payload);
  // The next unit at the front of bytes; used: its size in bytes.
  UnitStatus next(std::string_view bytes, ServerUnit& unit, std::size_t& used) const;

  // The upgrade request for host:port, with a key of 16 bytes drawn from the mask state.
  std::string upgrade_request(std::string_view host, std::uint16_t port);
  // The size of a complete response head (0: need more); ok tells whether it is a 101 with
  // subprotocol chat.v1.
  static std::size_t upgrade_response(std::string_view bytes, bool& ok);

 private:
  static UnitStatus next_line(std::string_view bytes, ServerUnit& unit, std::size_t& used);
  std::uint32_t next_mask();
  void append_masked(std::string& out, std::uint8_t opcode, std::string_view payload);

  Transport transport_;
  std::uint32_t mask_state_;
  std::string scratch_;
};

}  // namespace chat::loadtest
