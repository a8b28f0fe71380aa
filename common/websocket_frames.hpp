#pragma once
// RFC 6455 framing on the server's side, free of I/O: a decoder for what clients send (masked
// frames, fragmented messages, control frames) that checks every rule before it buffers a
// payload, and encoders for what the server sends (unmasked, never fragmented).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chat::websocket {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// The close status codes the server sends (RFC 6455 section 7.4.1).
enum class CloseCode : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  unsupported_data = 1003,
  invalid_payload = 1007,  // a text message that is not UTF-8
  policy_violation = 1008,
  message_too_big = 1009,
  internal_error = 1011,
  try_again_later = 1013,
};

inline constexpr std::size_t max_control_payload = 125;

// A whole message (fragments joined) or a control frame. For close, payload is the raw body:
// see parse_close().
struct Message {
  Opcode opcode = Opcode::binary;
  std::string_view payload;  // unmasked; valid until the decoder is next changed
};

enum class DecodeStatus { need_more, message, error };

class Decoder {
 public:
  // max_message_bytes: the most a data message may hold, all its fragments together.
  explicit Decoder(std::size_t max_message_bytes);

  // Copies what a read returned.
  void feed(std::string_view bytes);
  // The next message or control frame. After an error the decoder stays in it: the connection
  // must be closed with error_code().
  DecodeStatus next(Message& message);

  CloseCode error_code() const { return error_code_; }
  const std::string& error_reason() const { return error_reason_; }
  // Frees buffers that grew above keep_bytes once nothing is buffered.
  void release_if_idle(std::size_t keep_bytes);
  std::size_t buffered_bytes() const { return input_.size() - begin_ + fragments_.size(); }

 private:
  struct Header {
    bool fin = false;
    Opcode opcode = Opcode::binary;
    std::uint64_t length = 0;
    std::size_t size = 0;  // header bytes, masking key included
    std::uint8_t mask[4] = {};
  };
  enum class HeaderStatus { need_more, complete, error };

  HeaderStatus read_header(std::string_view bytes, Header& header);
  bool check_sequence(const Header& header);
  bool check_message(Message& message);
  DecodeStatus fail(CloseCode code, std::string reason);
  void compact();

  std::size_t max_message_bytes_;
  std::string input_;  // received bytes; the next frame starts at begin_
  std::size_t begin_ = 0;
  std::string fragments_;  // the data message being reassembled
  Opcode fragmented_opcode_ = Opcode::binary;
  bool in_fragmented_message_ = false;
  CloseCode error_code_ = CloseCode::normal;
  std::string error_reason_;
  bool failed_ = false;
};

struct ClosePayload {
  std::uint16_t code = 1005;  // 1005: the client sent no status
  std::string_view reason;
};
// Parses a close frame's body; false when it breaks RFC 6455 (one byte, a code that may not be
// sent, a reason that is not UTF-8), with the code to close with.
bool parse_close(std::string_view payload, ClosePayload& close, CloseCode& error);

// Appends the header of an unmasked, final frame of payload_bytes.
void append_header(std::string& out, Opcode opcode, std::size_t payload_bytes);
// A whole control frame; payload is cut to 125 bytes.
std::string control_frame(Opcode opcode, std::string_view payload);
// A close frame with a code and a reason cut to fit 125 bytes without splitting a UTF-8 sequence.
std::string close_frame(CloseCode code, std::string_view reason);

}  // namespace chat::websocket
