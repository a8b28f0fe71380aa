#pragma once
// The seam between rooms and where their history lives (DESIGN.md, "the engine"). The home shard
// of a room appends each sequenced message and acknowledges the sender only when the log says it
// is durable. Engines: MemoryRoomLog (below; nothing survives a restart) now, SQLite and Redis to
// come behind the same interface.

#include <functional>

#include "chat.pb.h"

namespace chat::server {

class RoomLog {
 public:
  virtual ~RoomLog() = default;
  // Appends a sequenced message; on_durable runs (on any thread) once it is stored.
  virtual void append(const v1::RoomMessage& message, std::function<void()> on_durable) = 0;
};

// Keeps nothing beyond the rooms' in-memory recent history: a message is "durable" at once.
class MemoryRoomLog final : public RoomLog {
 public:
  void append(const v1::RoomMessage&, std::function<void()> on_durable) override { on_durable(); }
};

}  // namespace chat::server
