// Other nodes' members of a cluster room: changes from the channel, and the reconciliation with
// the cluster's record after the channel was away.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "presence_of.hpp"
#include "remote_members.hpp"

namespace chat::server {
namespace {

Presence joined(const std::string& field, const std::string& nick) {
  return test::presence_of(Presence::Change::joined, field, nick);
}
Presence left(const std::string& field, const std::string& nick) {
  return test::presence_of(Presence::Change::left, field, nick, "bye");
}
Presence renamed(const std::string& field, const std::string& old_nick,
                 const std::string& new_nick) {
  return test::presence_of(Presence::Change::renamed, field, new_nick, old_nick);
}

// "joined b:1 bob", "left b:1 bob (disconnected, quit)", "renamed b:1 bob->rob", sorted.
std::vector<std::string> describe(const std::vector<Presence>& changes) {
  std::vector<std::string> lines;
  for (const Presence& p : changes) {
    switch (p.change) {
      case Presence::Change::joined:
        lines.push_back("joined " + p.field + " " + p.nick);
        break;
      case Presence::Change::left:
        lines.push_back("left " + p.field + " " + p.nick + " (" + p.detail +
                        (p.quit ? ", quit)" : ")"));
        break;
      case Presence::Change::renamed:
        lines.push_back("renamed " + p.field + " " + p.detail + "->" + p.nick);
        break;
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("a loaded room's remote members leave out this node's own") {
  RemoteMembers remote;
  remote.reset({{"a:1", "me"}, {"b:1", "bob"}, {"c:7", "cat"}, {"ab:2", "abe"}}, "a");
  CHECK(remote.size() == 3);
  CHECK(remote.members().contains("ab:2"));  // another node whose id starts like this one's
  CHECK_FALSE(remote.members().contains("a:1"));
}

TEST_CASE("channel changes show only when they change something") {
  RemoteMembers remote;
  remote.reset({}, "a");
  CHECK(remote.on_change(joined("b:1", "bob")));
  CHECK_FALSE(remote.on_change(joined("b:1", "bob")));  // a second copy
  CHECK(remote.on_change(renamed("b:1", "bob", "rob")));
  CHECK_FALSE(remote.on_change(renamed("b:1", "bob", "rob")));
  CHECK_FALSE(remote.on_change(renamed("b:9", "x", "y")));  // not a member
  CHECK(remote.members().at("b:1") == "rob");
  CHECK(remote.on_change(left("b:1", "rob")));
  CHECK_FALSE(remote.on_change(left("b:1", "rob")));
  CHECK(remote.size() == 0);
}

TEST_CASE("a read reports joins, leaves and renames that the channel missed") {
  RemoteMembers remote;
  remote.reset({{"b:1", "bob"}, {"b:2", "ben"}, {"c:1", "cat"}}, "a");
  const auto read = remote.start_read();
  const auto changes = remote.on_read(
      read, RoomMembers{{"a:5", "me"}, {"b:1", "rob"}, {"c:1", "cat"}, {"d:1", "dan"}});
  CHECK(describe(changes) ==
        Lines{"joined d:1 dan", "left b:2 ben (disconnected, quit)", "renamed b:1 bob->rob"});
  CHECK(remote.size() == 3);
  CHECK(remote.members().at("b:1") == "rob");
}

TEST_CASE("changes on the channel during a read are applied to the snapshot again") {
  RemoteMembers remote;
  remote.reset({{"b:1", "bob"}}, "a");
  const auto read = remote.start_read();
  // The channel carries a join and a leave while the read is out; the snapshot was taken before
  // both, so it still has bob and lacks dan.
  CHECK(remote.on_change(joined("d:1", "dan")));
  CHECK(remote.on_change(left("b:1", "bob")));
  const auto changes = remote.on_read(read, RoomMembers{{"b:1", "bob"}});
  CHECK(changes.empty());  // what the node shows is right
  CHECK(remote.size() == 1);
  CHECK(remote.members().contains("d:1"));
}

TEST_CASE("overlapping reads: only the last one asked decides") {
  RemoteMembers remote;
  remote.reset({{"b:1", "bob"}}, "a");
  const auto first = remote.start_read();
  const auto second = remote.start_read();
  CHECK(remote.on_read(first, RoomMembers{}).empty());  // stale: bob stays
  CHECK(remote.size() == 1);
  CHECK(describe(remote.on_read(second, RoomMembers{{"b:1", "bob"}, {"c:1", "cat"}})) ==
        Lines{"joined c:1 cat"});
}

TEST_CASE("a read the cluster did not answer changes nothing") {
  RemoteMembers remote;
  remote.reset({{"b:1", "bob"}}, "a");
  CHECK(remote.on_read(remote.start_read(), std::nullopt).empty());
  CHECK(remote.size() == 1);
}

TEST_CASE("a lost node's members leave, and only its own") {
  RemoteMembers remote;
  remote.reset({{"b:1", "bob"}, {"b:2", "ben"}, {"bb:1", "bea"}, {"c:1", "cat"}}, "a");
  CHECK(describe(remote.on_node_lost("b")) ==
        Lines{"left b:1 bob (server lost, quit)", "left b:2 ben (server lost, quit)"});
  CHECK(remote.size() == 2);
  CHECK(remote.on_node_lost("b").empty());
}

}  // namespace chat::server
