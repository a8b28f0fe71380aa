#include "redis_scripts.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include <fmt/format.h>

namespace chat::server::redis::scripts {

Script::Script(std::string text) : body(std::move(text)) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &size, EVP_sha1(), nullptr) != 1)
    throw std::runtime_error("SHA-1 is not available");
  for (unsigned int i = 0; i < size; ++i) sha1 += fmt::format("{:02x}", digest[i]);
}

std::vector<const Script*> all() {
  return {&append,    &history,    &load_room,           &presence,     &sync_members,
          &room_info, &trim_room,  &remove_node_members, &find_message, &replace_message,
          &mark_read, &claim_nick, &take_nick,           &release_nick, &free_nick_of_node,
          &raise_seq, &set_topic};
}

}  // namespace chat::server::redis::scripts
