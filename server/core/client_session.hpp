#pragma once
// A connected client as rooms and shards see it, whatever front end serves it: they queue frames
// to it and tell it how its joins went. A client session lives on one shard; from elsewhere it is
// reached through its SessionRef (with_client).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat.pb.h"
#include "framing.hpp"
#include "session_ref.hpp"

namespace chat::server {

class ClientSession {
 public:
  virtual ~ClientSession() = default;

  virtual SessionRef ref() const = 0;
  virtual const std::string& nick() const = 0;
  // Queues a frame (an event, or the answer to a request) without waiting. A client too far
  // behind is closed with SLOW_CONSUMER.
  virtual void deliver(const SharedFrame& frame) = 0;
  // Answers from a room's home shard: joined, with the frames to show first (the JoinReply and
  // the history asked for), or refused with an Error.
  virtual void on_joined(const std::string& key, const std::string& room,
                         std::vector<SharedFrame> frames) = 0;
  virtual void on_join_failed(const std::string& key, SharedFrame error) = 0;
  // Answers what was asked so far, then says why it closes, flushes and closes (within
  // close_timeout_ms).
  virtual void close_with(v1::Disconnect::Reason reason, const std::string& message,
                          std::uint32_t retry_after_ms = 0) = 0;
  // Ends the connection now, without flushing.
  virtual void abort() = 0;
  // For metrics.
  virtual std::size_t outbox_bytes() const = 0;
  virtual bool uses_tls() const = 0;
  // "tcp" (chat.v1 on the chat port), "ws" or "ws-json" (WebSocket on the web listener).
  virtual std::string_view transport() const = 0;
};

}  // namespace chat::server
