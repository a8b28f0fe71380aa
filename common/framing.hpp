#pragma once
// Length-delimited protobuf framing, free of I/O: a frame is a varint32 byte length followed by
// one serialized message. Encoders produce immutable shared bytes; the decoder is fed whatever a
// read returned and yields complete frames.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace google::protobuf {
class MessageLite;
}

namespace chat {

// What an outbox may do with a frame when its client falls behind: control frames (replies,
// errors, Disconnect) are never dropped, room messages may be replaced by a Gap, presence and
// typing events are shed first.
enum class FramePriority : std::uint8_t { control, chat, presence };

// One encoded frame (length prefix included), immutable once built and shared by every outbox
// that sends it, so a room message is serialized once however many members receive it.
struct EncodedFrame {
  std::string bytes;
  FramePriority priority = FramePriority::control;
  std::string room;       // chat frames: the room, so a backlog can be replaced by a Gap
  std::uint64_t seq = 0;  // chat frames: the message's sequence in that room
  // Bytes in a connection's own wire format already (a WebSocket pong or close): sent as they are,
  // with no length prefix to take off.
  bool wire_ready = false;
  // The frame in another wire format (a WebSocket text message in protobuf's JSON mapping), built
  // by the first connection that sends it in that format and shared by the others, on any shard.
  mutable std::once_flag other_format_once;
  mutable std::string other_format;
  // The frame as IRC lines (a room message's PRIVMSG), built once the same way: one string per
  // selection of tags an IRC client may take (irc::TagSelection), so each client copies one.
  mutable std::once_flag irc_once;
  mutable std::vector<std::string> irc_lines;
};
using SharedFrame = std::shared_ptr<const EncodedFrame>;

inline constexpr std::size_t max_varint32_bytes = 5;
inline constexpr std::size_t default_max_frame_bytes = 64 * 1024;

// Encodes a message as one frame into newly allocated shared bytes.
SharedFrame encode_frame(const google::protobuf::MessageLite& message,
                         FramePriority priority = FramePriority::control);
// Encodes a room message; room and seq let an outbox account for it if it must be skipped.
SharedFrame encode_chat_frame(const google::protobuf::MessageLite& message, std::string room,
                              std::uint64_t seq);

// Bytes already in a connection's own wire format (a WebSocket pong, an IRC line), sent as they
// are.
SharedFrame wire_ready_frame(std::string bytes);
// The serialized message of a length-prefixed frame (empty if the prefix is broken).
std::string_view frame_body(const EncodedFrame& frame);

// Appends a message as one frame to out (for batching several frames into one write).
void append_frame(std::string& out, const google::protobuf::MessageLite& message);

enum class DecodeError {
  none,
  frame_too_large,   // the length prefix names more than the maximum frame size
  malformed_length,  // the length prefix is not a valid varint32
  unparsable_frame,  // the frame bytes are not a valid message
};

// A one-line description of a decode error, for logs and Disconnect messages.
std::string_view describe(DecodeError error);

enum class DecodeStatus { need_more, frame, error };

// Reassembles frames from a byte stream. Owns a buffer that reads go straight into (prepare, then
// commit), or that feed() copies into. The length is checked against the maximum before any
// buffer grows for the frame, so a hostile prefix cannot make it allocate.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame_bytes = default_max_frame_bytes,
                        std::size_t read_chunk_bytes = 64 * 1024);

  // Space for the next read: at least one byte, usually read_chunk_bytes.
  std::span<char> prepare();
  // Marks n bytes of the space from prepare() as filled.
  void commit(std::size_t n);
  // Copies bytes in (prepare + commit in one call).
  void feed(std::string_view bytes);

  // Takes the next complete frame and parses it into message. After an error the decoder stays
  // in that error: a stream cannot be resynchronised once a frame boundary is lost.
  DecodeStatus next(google::protobuf::MessageLite& message);
  // Like next() but hands out the raw frame body, valid until the next call that changes the
  // decoder.
  DecodeStatus next_payload(std::string_view& payload);

  // Frees the buffer when nothing is buffered and it grew above keep_bytes, so an idle
  // connection does not hold on to the memory of its largest frame.
  void release_if_idle(std::size_t keep_bytes);

  DecodeError error() const { return error_; }
  std::size_t buffered_bytes() const { return end_ - begin_; }
  std::size_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  void make_room(std::size_t min_free);

  std::vector<char> buffer_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last filled byte
  std::size_t max_frame_bytes_;
  std::size_t read_chunk_bytes_;
  DecodeError error_ = DecodeError::none;
};

// Reads a varint32 from the front of bytes. Returns the number of bytes used, 0 when more bytes
// are needed, or -1 when the varint is malformed (too long or above 32 bits).
int read_varint32(std::string_view bytes, std::uint32_t& value);

}  // namespace chat
