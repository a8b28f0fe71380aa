#include <doctest/doctest.h>

#include <string>

#include "chat.pb.h"
#include "framing.hpp"
#include "websocket_codec.hpp"
#include "websocket_frames.hpp"

using chat::server::ClientCodec;
using chat::server::WebSocketCodec;
using chat::server::WebSocketFormat;
namespace ws = chat::websocket;

namespace {

std::string masked(ws::Opcode opcode, std::string_view payload) {
  std::string frame(1, static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  REQUIRE(payload.size() < 126);
  frame.push_back(static_cast<char>(0x80 | payload.size()));
  const char key[4] = {1, 2, 3, 4};
  frame.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    frame.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  return frame;
}

// The payload of one unmasked server frame, after checking its opcode.
std::string payload_of(const std::string& frame, ws::Opcode opcode) {
  REQUIRE(frame.size() >= 2);
  CHECK(static_cast<unsigned char>(frame[0]) == (0x80 | static_cast<std::uint8_t>(opcode)));
  std::size_t length = static_cast<unsigned char>(frame[1]);
  std::size_t header = 2;
  if (length == 126) {
    length = (static_cast<unsigned char>(frame[2]) << 8) | static_cast<unsigned char>(frame[3]);
    header = 4;
  }
  REQUIRE(frame.size() == header + length);
  return frame.substr(header);
}

chat::SharedFrame room_message() {
  chat::v1::ServerFrame frame;
  auto* message = frame.mutable_room_message();
  message->set_room("lobby");
  message->set_seq(7);
  message->set_from("ann");
  message->set_text("<b>hi</b>");
  return chat::encode_chat_frame(frame, "lobby", 7);
}

}  // namespace

TEST_CASE("chat.v1.json: requests in protobuf's JSON mapping, frames out as JSON text") {
  WebSocketCodec codec(WebSocketFormat::json, 4096);
  chat::v1::ClientFrame request;
  codec.feed(masked(ws::Opcode::text, R"({"requestId":"3","send":{"room":"lobby","text":"hi"}})"));
  REQUIRE(codec.next(request) == ClientCodec::Input::request);
  CHECK(request.request_id() == 3);
  CHECK(request.send().text() == "hi");

  const chat::SharedFrame frame = room_message();
  std::string first, second;
  codec.append(first, *frame);
  WebSocketCodec other(WebSocketFormat::json, 4096);
  other.append(second, *frame);
  CHECK(first == second);
  const std::string json = payload_of(first, ws::Opcode::text);
  CHECK(json.find(R"("seq":"7")") != std::string::npos);
  CHECK(json.find(R"("text":"\u003cb\u003ehi\u003c/b\u003e")") != std::string::npos);
  // Built once and kept on the shared frame.
  CHECK(frame->other_format == first);
}

TEST_CASE("chat.v1 over WebSocket: binary messages, the frame's bytes under a WebSocket header") {
  WebSocketCodec codec(WebSocketFormat::binary, 4096);
  chat::v1::ClientFrame sent;
  sent.set_request_id(9);
  sent.mutable_join()->set_room("lobby");
  codec.feed(masked(ws::Opcode::binary, sent.SerializeAsString()));
  chat::v1::ClientFrame request;
  REQUIRE(codec.next(request) == ClientCodec::Input::request);
  CHECK(request.join().room() == "lobby");

  std::string out;
  codec.append(out, *room_message());
  chat::v1::ServerFrame back;
  REQUIRE(back.ParseFromString(payload_of(out, ws::Opcode::binary)));
  CHECK(back.room_message().seq() == 7);
}

TEST_CASE("websocket codec: bad JSON, unknown request kinds and pings leave the stream usable") {
  WebSocketCodec codec(WebSocketFormat::json, 4096);
  chat::v1::ClientFrame request;
  codec.feed(masked(ws::Opcode::text, R"({"requestId":"1","join":{"room":5}})"));
  CHECK(codec.next(request) == ClientCodec::Input::invalid);
  CHECK(codec.problem().find("JSON") != std::string::npos);
  CHECK(codec.problem_request_id() == 1);
  codec.feed(masked(ws::Opcode::text, R"({"requestId":12,"ping":{"nonce":[]}})"));
  CHECK(codec.next(request) == ClientCodec::Input::invalid);
  CHECK(codec.problem_request_id() == 12);
  codec.feed(masked(ws::Opcode::text, R"({"requestId":1.5,"ping":"x"})"));
  CHECK(codec.next(request) == ClientCodec::Input::invalid);
  CHECK(codec.problem_request_id() == 0);
  codec.feed(masked(ws::Opcode::text, "{"));
  CHECK(codec.next(request) == ClientCodec::Input::invalid);
  CHECK(codec.problem_request_id() == 0);
  // A kind this server does not know parses with no request set (answered UNSUPPORTED).
  codec.feed(masked(ws::Opcode::text, R"({"requestId":"3","noSuchRequest":{}})"));
  REQUIRE(codec.next(request) == ClientCodec::Input::request);
  CHECK(request.request_id() == 3);
  CHECK(request.request_case() == chat::v1::ClientFrame::REQUEST_NOT_SET);
  CHECK(!request.GetReflection()->GetUnknownFields(request).empty());
  codec.feed(masked(ws::Opcode::text, R"({"requestId":"4"})"));
  REQUIRE(codec.next(request) == ClientCodec::Input::request);
  CHECK(request.GetReflection()->GetUnknownFields(request).empty());
  codec.feed(masked(ws::Opcode::ping, "abc"));
  REQUIRE(codec.next(request) == ClientCodec::Input::reply);
  const chat::SharedFrame pong = codec.take_reply();
  CHECK(pong->wire_ready);
  std::string out;
  codec.append(out, *pong);
  CHECK(payload_of(out, ws::Opcode::pong) == "abc");
  codec.feed(masked(ws::Opcode::text, R"({"requestId":"2","ping":{}})"));
  CHECK(codec.next(request) == ClientCodec::Input::request);
  codec.feed(masked(ws::Opcode::close, "\x03\xE8"));
  CHECK(codec.next(request) == ClientCodec::Input::end);
}

TEST_CASE("websocket codec: a message of the other type ends the stream with 1003") {
  auto close_code = [](const chat::SharedFrame& frame) {
    const std::string payload = frame->bytes.substr(2);
    return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
  };
  chat::v1::ClientFrame request;
  WebSocketCodec json(WebSocketFormat::json, 4096);
  json.feed(masked(ws::Opcode::binary, "x"));
  CHECK(json.next(request) == ClientCodec::Input::error);
  CHECK(json.problem() == "chat.v1.json takes text messages");
  CHECK(close_code(json.closing_frame(chat::v1::Disconnect::PROTOCOL_ERROR, "")) == 1003);
  WebSocketCodec binary(WebSocketFormat::binary, 4096);
  binary.feed(masked(ws::Opcode::text, "{}"));
  CHECK(binary.next(request) == ClientCodec::Input::error);
  CHECK(close_code(binary.closing_frame(chat::v1::Disconnect::PROTOCOL_ERROR, "")) == 1003);
}

TEST_CASE("websocket codec: the close status follows the reason, or the protocol error") {
  WebSocketCodec codec(WebSocketFormat::binary, 16);
  auto close_code = [](const chat::SharedFrame& frame) {
    const std::string payload = frame->bytes.substr(2);
    return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
  };
  CHECK(close_code(codec.closing_frame(chat::v1::Disconnect::SLOW_CONSUMER, "behind")) == 1008);
  CHECK(close_code(codec.closing_frame(chat::v1::Disconnect::SERVER_SHUTDOWN, "")) == 1001);
  CHECK(close_code(codec.closing_frame(chat::v1::Disconnect::REASON_UNSPECIFIED, "")) == 1000);
  codec.feed(masked(ws::Opcode::binary, std::string(20, 'x')));
  chat::v1::ClientFrame request;
  CHECK(codec.next(request) == ClientCodec::Input::error);
  CHECK(close_code(codec.closing_frame(chat::v1::Disconnect::PROTOCOL_ERROR, "")) == 1009);
}
