#pragma once

#include <cstdint>

namespace chat::server {

// Names a session across shards: the shard it lives on and its server-unique id. Other shards hold
// this, never a pointer, and the owning shard looks the session up when a post arrives.
struct SessionRef {
  std::uint32_t shard = 0;
  std::uint64_t id = 0;
  friend bool operator==(const SessionRef&, const SessionRef&) = default;
};

}  // namespace chat::server
