#pragma once
// How a session's client puts requests and frames on the wire: chat.v1's length-prefixed protobuf
// on the chat port, or WebSocket messages (binary protobuf or protobuf's JSON mapping) on the web
// port. The session reads requests through it and its Connection sends frames through it, so
// request handling is written once for every wire format.

#include <cstdint>
#include <string>
#include <string_view>

#include "chat.pb.h"
#include "connection.hpp"
#include "framing.hpp"

namespace chat::server {

class ClientCodec : public Connection::Encoder {
 public:
  enum class Input {
    need_more,   // no complete request buffered
    request,     // a request, in the frame passed to next()
    unparsable,  // a message that is not a ClientFrame: unparsable_payload() holds it
    invalid,     // a message that is not a request but leaves the stream intact: problem() says why
    reply,       // the transport owes the client a frame now (a WebSocket pong): take_reply()
    end,         // the client said it sends nothing more (a WebSocket close)
    error,       // the stream cannot go on: problem() says why
  };

  // Copies what a read returned.
  virtual void feed(std::string_view bytes) = 0;
  virtual Input next(v1::ClientFrame& request) = 0;
  virtual std::string_view unparsable_payload() const = 0;
  virtual std::string problem() const = 0;
  // The request an invalid message meant to be, when it says (its error answers it); else 0.
  virtual std::uint64_t problem_request_id() const { return 0; }
  virtual SharedFrame take_reply() = 0;
  // Frees what the decoder holds beyond a small buffer once nothing is buffered.
  virtual void release_if_idle() = 0;
  // An answer to one of the requests is queued for the client (before it is sent): a codec whose
  // later input depends on it (an IRC client's registration) looks at it here.
  virtual void on_answer(const EncodedFrame&) {}
  // Above the rate limit, requests wait until it allows them (IRC's "fakelag": clients burst
  // JOINs on connect) instead of being refused.
  virtual bool delays_over_rate() const { return false; }
  // Every request waits for the answers to those before it, not only the ones later requests
  // depend on: IRC clients expect numerics in the order they asked.
  virtual bool answers_in_order() const { return false; }

  // The frame that ends the connection after the last one (a WebSocket close), or nullptr.
  virtual SharedFrame closing_frame(v1::Disconnect::Reason reason,
                                    std::string_view message) const = 0;
  // What the Connection sends frames with; nullptr: as encoded.
  virtual const Connection::Encoder* encoder() const = 0;
  // For logs and metrics: "tcp", "ws", "ws-json", "irc".
  virtual std::string_view transport() const = 0;
  // What the rooms are told when the client ended the session itself with a reason (IRC's QUIT
  // message); empty when it did not.
  virtual std::string quit_reason() const { return {}; }
};

}  // namespace chat::server
