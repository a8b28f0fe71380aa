#include "reply_frames.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "chat.pb.h"

namespace chat::server {
namespace {

using google::protobuf::internal::WireFormatLite;

bool is_reply(v1::ServerFrame::PayloadCase payload) {
  switch (payload) {
    case v1::ServerFrame::kWelcome:
    case v1::ServerFrame::kOk:
    case v1::ServerFrame::kError:
    case v1::ServerFrame::kJoinReply:
    case v1::ServerFrame::kAck:
    case v1::ServerFrame::kRoomList:
    case v1::ServerFrame::kMemberList:
    case v1::ServerFrame::kHistoryReply:
    case v1::ServerFrame::kPong:
    case v1::ServerFrame::kUserInfo:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool answers_request(const EncodedFrame& frame) {
  const std::string_view body = frame_body(frame);
  if (body.empty()) return false;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(body.data()),
                                            static_cast<int>(body.size()));
  // Fields are serialized in field-number order: request_id (when not 0), then the payload.
  std::uint32_t tag = in.ReadTag();
  if (WireFormatLite::GetTagFieldNumber(tag) == v1::ServerFrame::kRequestIdFieldNumber) {
    std::uint64_t ignored = 0;
    if (!in.ReadVarint64(&ignored)) return false;
    tag = in.ReadTag();
  }
  return is_reply(
      static_cast<v1::ServerFrame::PayloadCase>(WireFormatLite::GetTagFieldNumber(tag)));
}

}  // namespace chat::server
