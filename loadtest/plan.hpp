#pragma once
// Who connects where, joins what and sends: the scenario turned into one spec per client. Pure, so
// tests check the shape of each scenario without sockets.

#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"

namespace chat::loadtest {

struct ClientSpec {
  std::uint32_t index = 0;
  std::string nick;
  std::vector<std::uint32_t> rooms;  // indices into Plan::room_names
  bool sender = false;
  bool churns = false;  // disconnects and resumes every churn interval
  Endpoint server;
  std::string source_address;  // empty: the kernel picks
};

struct Plan {
  std::vector<std::string> room_names;
  std::vector<ClientSpec> clients;
};

Plan make_plan(const Options& options);

}  // namespace chat::loadtest
