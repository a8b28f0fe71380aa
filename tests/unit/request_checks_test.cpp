// The pure pieces behind the protocol's promises: which string field of a refused frame is not
// UTF-8, which encoded frames answer a request, and the de-duplication of direct messages.
#include <doctest/doctest.h>

#include <string>

#include "chat.pb.h"
#include "framing.hpp"
#include "reply_frames.hpp"
#include "seen_direct_messages.hpp"
#include "string_field_check.hpp"

using namespace chat;

namespace {

// Serializes frame and puts bad where the (same-sized) placeholder was.
std::string with_bytes(const v1::ClientFrame& frame, const std::string& placeholder,
                       const std::string& bad) {
  std::string body;
  frame.SerializePartialToString(&body);
  body.replace(body.find(placeholder), placeholder.size(), bad);
  return body;
}

const std::string placeholder = "PLACE";
const std::string invalid = "a\xc3\x28z\xff";

}  // namespace

TEST_CASE("StringFieldCheck names the string field that is not UTF-8") {
  const StringFieldCheck check(*v1::ClientFrame::descriptor());
  v1::ClientFrame frame;

  SUBCASE("a field of the request") {
    frame.set_request_id(42);
    frame.mutable_send()->set_room("#ok");
    frame.mutable_send()->set_text(placeholder);
    const std::string bytes = with_bytes(frame, placeholder, invalid);
    v1::ClientFrame parsed;
    REQUIRE_FALSE(parsed.ParseFromString(bytes));  // what the server starts from
    const auto found = check.find_invalid(bytes);
    REQUIRE(found);
    CHECK(found->path == "send.text");
    CHECK(found->name == "text");
    CHECK(found->request_id == 42);
  }
  SUBCASE("a repeated message inside the request") {
    frame.set_request_id(7);
    frame.mutable_hello()->set_nick("alice");
    frame.mutable_hello()->add_resume()->set_room("#fine");
    frame.mutable_hello()->add_resume()->set_room(placeholder);
    const auto found = check.find_invalid(with_bytes(frame, placeholder, invalid));
    REQUIRE(found);
    CHECK(found->path == "hello.resume.room");
    CHECK(found->request_id == 7);
  }
  SUBCASE("the first bad field when there are several") {
    frame.mutable_edit()->set_room("ROOM1");
    frame.mutable_edit()->set_text(placeholder);
    std::string bytes = with_bytes(frame, placeholder, invalid);
    bytes.replace(bytes.find("ROOM1"), 5, invalid);
    const auto found = check.find_invalid(bytes);
    REQUIRE(found);
    CHECK(found->name == "room");
  }
  SUBCASE("bytes that are malformed for another reason") {
    CHECK_FALSE(check.find_invalid(std::string("\x0f\xff\xff", 3)));
    frame.mutable_send()->set_text(placeholder);
    const std::string bytes = with_bytes(frame, placeholder, invalid);
    CHECK_FALSE(check.find_invalid(bytes.substr(0, bytes.size() - 2)));  // truncated
  }
  SUBCASE("a frame with valid strings") {
    frame.mutable_send()->set_text("fine \xc3\xa9");
    CHECK_FALSE(check.find_invalid(frame.SerializeAsString()));
  }
}

TEST_CASE("answers_request tells replies from events") {
  v1::ServerFrame frame;
  SUBCASE("replies, with and without a request id") {
    frame.mutable_ok();
    CHECK(server::answers_request(*encode_frame(frame)));
    frame.set_request_id(1ULL << 40);
    frame.mutable_error()->set_code(v1::Error::BAD_REQUEST);
    CHECK(server::answers_request(*encode_frame(frame)));
    frame.mutable_ack()->set_seq(3);
    CHECK(server::answers_request(*encode_frame(frame)));
    frame.mutable_pong();
    CHECK(server::answers_request(*encode_frame(frame)));
    frame.mutable_welcome()->set_nick("a");
    CHECK(server::answers_request(*encode_frame(frame)));
    frame.mutable_history_reply();
    CHECK(server::answers_request(*encode_frame(frame)));
  }
  SUBCASE("events") {
    frame.mutable_room_message()->set_seq(1);
    CHECK_FALSE(server::answers_request(*encode_frame(frame)));
    frame.mutable_disconnect()->set_reason(v1::Disconnect::SERVER_SHUTDOWN);
    CHECK_FALSE(server::answers_request(*encode_frame(frame)));
    frame.mutable_ping();
    CHECK_FALSE(server::answers_request(*encode_frame(frame)));
    frame.mutable_gap()->set_to_seq(4);
    CHECK_FALSE(server::answers_request(*encode_frame(frame)));
  }
  SUBCASE("not a frame") {
    CHECK_FALSE(server::answers_request(EncodedFrame{}));
    EncodedFrame garbage;
    garbage.bytes = "\xff\xff\xff\xff\xff\xff";
    CHECK_FALSE(server::answers_request(garbage));
  }
}

TEST_CASE("SeenDirectMessages: a resend is seen once, within its capacity") {
  server::SeenDirectMessages seen(3);
  CHECK(seen.first_time("bob", 1));
  CHECK_FALSE(seen.first_time("bob", 1));
  CHECK(seen.first_time("carol", 1));  // another sender's id
  CHECK(seen.first_time("bob", 0));    // 0: no de-duplication
  CHECK(seen.first_time("bob", 0));
  CHECK(seen.first_time("bob", 2));
  CHECK(seen.first_time("bob", 3));  // forgets the oldest (bob 1)
  CHECK(seen.first_time("bob", 1));
  CHECK_FALSE(seen.first_time("bob", 3));
}
