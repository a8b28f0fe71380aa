#pragma once
// Which session holds which nick, server-wide and case-insensitively. Used on handshake, nick
// change and direct messages only, never on the room message path, so a mutex is fine here.

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "session_ref.hpp"

namespace chat::server {

class NickDirectory {
 public:
  // Claims nick for owner; false when another session holds it.
  bool claim(std::string_view nick, SessionRef owner);
  // Moves owner from old_nick to new_nick in one step; false when new_nick is held by another.
  bool rename(std::string_view old_nick, std::string_view new_nick, SessionRef owner);
  // Releases nick if owner holds it.
  void release(std::string_view nick, SessionRef owner);
  std::optional<SessionRef> find(std::string_view nick) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, SessionRef> owners_;  // by name_key
};

}  // namespace chat::server
