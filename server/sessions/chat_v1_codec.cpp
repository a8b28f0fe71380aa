#include "chat_v1_codec.hpp"

namespace chat::server {
namespace {

// What the decoder may keep allocated between reads (it holds only partial frames).
constexpr std::size_t idle_decoder_bytes = 512;

}  // namespace

ClientCodec::Input ChatV1Codec::next(v1::ClientFrame& request) {
  switch (decoder_.next_payload(payload_)) {
    case DecodeStatus::need_more:
      return Input::need_more;
    case DecodeStatus::error:
      return Input::error;
    case DecodeStatus::frame:
      break;
  }
  return request.ParseFromArray(payload_.data(), static_cast<int>(payload_.size()))
             ? Input::request
             : Input::unparsable;
}

void ChatV1Codec::release_if_idle() { decoder_.release_if_idle(idle_decoder_bytes); }

}  // namespace chat::server
