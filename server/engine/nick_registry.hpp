#pragma once
// Nicks unique across a cluster: a session claims its nick here after claiming it on its node
// (NickDirectory). Callbacks run on the engine's thread.

#include <cstdint>
#include <functional>
#include <string>

#include "store_types.hpp"

namespace chat::server {

class NickRegistry {
 public:
  virtual ~NickRegistry() = default;

  // done: ok, or not ok with an empty error when another live node's session holds the nick
  // (an error says the registry could not be asked).
  virtual void claim_nick(const std::string& nick_key, std::uint64_t session_id,
                          std::function<void(storage::WriteResult)> done) = 0;
  virtual void release_nick(const std::string& nick_key, std::uint64_t session_id) = 0;
};

}  // namespace chat::server
