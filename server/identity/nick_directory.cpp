#include "nick_directory.hpp"

#include "names.hpp"

namespace chat::server {

bool NickDirectory::claim(std::string_view nick, SessionRef owner) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = owners_.try_emplace(name_key(nick), owner);
  return inserted || it->second == owner;
}

bool NickDirectory::rename(std::string_view old_nick, std::string_view new_nick, SessionRef owner) {
  std::lock_guard lock(mutex_);
  const std::string new_key = name_key(new_nick);
  auto it = owners_.find(new_key);
  if (it != owners_.end() && !(it->second == owner)) return false;
  const std::string old_key = name_key(old_nick);
  auto old = owners_.find(old_key);
  if (old != owners_.end() && old->second == owner) owners_.erase(old);
  owners_[new_key] = owner;
  return true;
}

void NickDirectory::release(std::string_view nick, SessionRef owner) {
  std::lock_guard lock(mutex_);
  auto it = owners_.find(name_key(nick));
  if (it != owners_.end() && it->second == owner) owners_.erase(it);
}

std::optional<SessionRef> NickDirectory::find(std::string_view nick) const {
  std::lock_guard lock(mutex_);
  auto it = owners_.find(name_key(nick));
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

std::size_t NickDirectory::size() const {
  std::lock_guard lock(mutex_);
  return owners_.size();
}

}  // namespace chat::server
