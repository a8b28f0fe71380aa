#include "plan.hpp"

namespace chat::loadtest {

Plan make_plan(const Options& options) {
  Plan plan;
  const bool fanout = options.scenario == Scenario::fanout;
  const std::uint32_t rooms = fanout ? 1 : options.rooms;
  for (std::uint32_t r = 0; r < rooms; ++r) plan.room_names.push_back("#lt" + std::to_string(r));
  plan.clients.reserve(options.clients);
  for (std::uint32_t i = 0; i < options.clients; ++i) {
    ClientSpec spec;
    spec.index = i;
    spec.nick = "lt" + std::to_string(options.seed % 100000) + "_" + std::to_string(i);
    if (fanout) {
      spec.rooms = {0};
      spec.sender = i < options.senders;
    } else {
      // Client i takes rooms_per_client consecutive rooms starting at a stride that spreads
      // members evenly over all rooms.
      for (std::uint32_t k = 0; k < options.rooms_per_client; ++k) {
        spec.rooms.push_back((i * options.rooms_per_client + k) % rooms);
      }
      spec.sender = options.scenario != Scenario::idle;
      spec.churns = options.scenario == Scenario::churn;
    }
    spec.server = options.servers[i % options.servers.size()];
    if (!options.source_addresses.empty()) {
      spec.source_address = options.source_addresses[i % options.source_addresses.size()];
    }
    plan.clients.push_back(std::move(spec));
  }
  return plan;
}

}  // namespace chat::loadtest
