#pragma once
// chat.v1 on the chat port: a frame is a varint32 length and a serialized message, both ways.
// Frames go on the wire as encoded.

#include "client_codec.hpp"

namespace chat::server {

class ChatV1Codec final : public ClientCodec {
 public:
  explicit ChatV1Codec(std::size_t max_frame_bytes) : decoder_(max_frame_bytes) {}

  void feed(std::string_view bytes) override { decoder_.feed(bytes); }
  Input next(v1::ClientFrame& request) override;
  std::string_view unparsable_payload() const override { return payload_; }
  std::string problem() const override { return std::string(describe(decoder_.error())); }
  SharedFrame take_reply() override { return nullptr; }
  void release_if_idle() override;

  SharedFrame closing_frame(v1::Disconnect::Reason, std::string_view) const override {
    return nullptr;
  }
  const Connection::Encoder* encoder() const override { return nullptr; }
  void append(std::string& out, const EncodedFrame& frame) const override {
    out.append(frame.bytes);
  }
  std::string_view transport() const override { return "tcp"; }

 private:
  FrameDecoder decoder_;
  std::string_view payload_;
};

}  // namespace chat::server
