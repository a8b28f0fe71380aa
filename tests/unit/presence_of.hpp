#pragma once
// A member's presence change on another node, as the cluster engine reports it, for tests.

#include <string>

#include "cluster_types.hpp"

namespace chat::test {

// field is "<node>:<session>"; detail is the reason of a leave or the old nick of a rename.
inline server::Presence presence_of(server::Presence::Change change, const std::string& field,
                                    const std::string& nick, const std::string& detail = {}) {
  return {.change = change,
          .node = server::node_of(field),
          .field = field,
          .nick = nick,
          .detail = detail,
          .account = false,
          .real_name = {},
          .quit = false};
}

}  // namespace chat::test
