#pragma once
// Redis Cluster's key space without I/O: the hash slot of a key (CRC16 of the key, or of its
// "{hash tag}"), which master serves which slots (from CLUSTER SLOTS), and the MOVED and ASK
// redirects a master answers with when it does not serve a key's slot (any more).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host_port.hpp"

namespace chat::server::redis {

struct Reply;

inline constexpr std::uint16_t slot_count = 16384;

// The slot Redis Cluster gives the key: of the text between the first '{' and the first '}'
// after it when that is not empty, else of the whole key.
std::uint16_t key_slot(std::string_view key);

struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  std::uint16_t slot = 0;
  HostPort address;
};

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381" (an error reply's text); nullopt for
// any other error.
std::optional<Redirect> parse_redirect(std::string_view error);

// "host:port" as the map and the metrics name a master.
std::string address_text(const HostPort& address);

class SlotMap {
 public:
  struct Range {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    HostPort master;
  };

  SlotMap();  // no slot served

  // The map from a CLUSTER SLOTS reply that `asked` answered (a master shown without a host is
  // on asked's host, as Redis means it); nullopt when the reply is not one.
  static std::optional<SlotMap> from_cluster_slots(const Reply& reply, const HostPort& asked);
  // Every slot served by one node: a Redis that is not a cluster.
  static SlotMap single(const HostPort& node);

  // Who serves the slot; nullptr when no master does (the cluster lost it).
  const HostPort* owner(std::uint16_t slot) const;
  // After a MOVED: the slot is the node's now.
  void assign(std::uint16_t slot, const HostPort& node);
  // Each master once, in the order first met.
  std::vector<HostPort> masters() const;
  // The slots a master serves, as "0-5460,10923" (for messages).
  std::string slots_of(const HostPort& master) const;
  // Slots no master serves.
  std::size_t unserved() const;

 private:
  std::vector<HostPort> nodes_;                   // each master once
  std::array<std::int16_t, slot_count> owner_{};  // index into nodes_, -1 when unserved
};

}  // namespace chat::server::redis
