// Redis Cluster's key space without a cluster: slots (checked against CLUSTER KEYSLOT of
// redis-server 7.0), the CLUSTER SLOTS map and the MOVED/ASK redirects.
#include <doctest/doctest.h>

#include "cluster_slots.hpp"
#include "redis_reply.hpp"

using namespace chat::server::redis;

namespace {

Reply integer(long long value) {
  Reply reply;
  reply.type = Reply::Type::integer;
  reply.integer = value;
  return reply;
}

Reply text(std::string value) {
  Reply reply;
  reply.type = Reply::Type::string;
  reply.text = std::move(value);
  return reply;
}

Reply array(std::vector<Reply> elements) {
  Reply reply;
  reply.type = Reply::Type::array;
  reply.elements = std::move(elements);
  return reply;
}

Reply range(long long first, long long last, const std::string& host, long long port) {
  return array({integer(first), integer(last), array({text(host), integer(port), text("id")}),
                array({text(host), integer(port + 3), text("replica")})});
}

const chat::HostPort seed{"10.0.0.9", 7000};

}  // namespace

TEST_CASE("key_slot is the slot CLUSTER KEYSLOT answers, hash tags included") {
  CHECK(key_slot("foo") == 12182);
  CHECK(key_slot("123456789") == 12739);  // CRC16/XMODEM's check value 0x31C3
  CHECK(key_slot("chat:r:{lobby}:seq") == 10294);
  CHECK(key_slot("chat:r:{lobby}") == 10294);
  CHECK(key_slot("{user1000}.following") == 3443);
  CHECK(key_slot("a{}b") == 13694);  // an empty tag: the whole key
  CHECK(key_slot("{}") == 15257);
  CHECK(key_slot("x{y") == 2740);                // no closing brace: the whole key
  CHECK(key_slot("chat:r:{a}b}:log") == 15495);  // the first '}' closes the tag
  CHECK(key_slot("chat:r:{a}b}:log") == key_slot("chat:r:{a}b}:seq"));
}

TEST_CASE("parse_redirect reads MOVED and ASK and nothing else") {
  const auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(moved);
  CHECK(moved->kind == Redirect::Kind::moved);
  CHECK(moved->slot == 3999);
  CHECK(moved->address.host == "127.0.0.1");
  CHECK(moved->address.port == 6381);
  const auto ask = parse_redirect("ASK 16383 10.0.0.2:7000");
  REQUIRE(ask);
  CHECK(ask->kind == Redirect::Kind::ask);
  CHECK(ask->slot == 16383);
  CHECK(address_text(ask->address) == "10.0.0.2:7000");

  CHECK_FALSE(parse_redirect("ERR unknown command"));
  CHECK_FALSE(parse_redirect("MOVED"));
  CHECK_FALSE(parse_redirect("MOVED 16384 127.0.0.1:6381"));  // no such slot
  CHECK_FALSE(parse_redirect("MOVED 12x 127.0.0.1:6381"));
  CHECK_FALSE(parse_redirect("MOVED 12 127.0.0.1"));  // no port
  CHECK_FALSE(parse_redirect("MOVED 12 127.0.0.1:0"));
  CHECK_FALSE(parse_redirect("TRYAGAIN Multiple keys request during rehashing of slot"));
}

TEST_CASE("SlotMap reads CLUSTER SLOTS and follows a MOVED") {
  const auto map = SlotMap::from_cluster_slots(
      array({range(0, 5460, "127.0.0.1", 7001), range(5461, 10922, "127.0.0.1", 7002),
             range(10923, 16383, "127.0.0.1", 7003)}),
      seed);
  REQUIRE(map);
  CHECK(map->unserved() == 0);
  CHECK(map->masters().size() == 3);
  CHECK(map->owner(0)->port == 7001);
  CHECK(map->owner(5460)->port == 7001);
  CHECK(map->owner(5461)->port == 7002);
  CHECK(map->owner(16383)->port == 7003);
  CHECK(map->slots_of({"127.0.0.1", 7002}) == "5461-10922");

  SlotMap moved = *map;
  moved.assign(5461, {"127.0.0.1", 7003});
  CHECK(moved.owner(5461)->port == 7003);
  CHECK(moved.owner(5462)->port == 7002);
  CHECK(moved.slots_of({"127.0.0.1", 7003}) == "5461,10923-16383");
}

TEST_CASE("SlotMap knows the slots no master serves, and refuses what is not CLUSTER SLOTS") {
  const auto partial = SlotMap::from_cluster_slots(array({range(0, 99, "127.0.0.1", 7001)}), seed);
  REQUIRE(partial);
  CHECK(partial->unserved() == 16384 - 100);
  CHECK(partial->owner(100) == nullptr);
  CHECK(SlotMap().unserved() == 16384);
  CHECK(SlotMap().masters().empty());
  CHECK(SlotMap::single({"127.0.0.1", 6379}).owner(12345)->port == 6379);

  Reply error;
  error.type = Reply::Type::error;
  error.text = "ERR This instance has cluster support disabled";
  CHECK_FALSE(SlotMap::from_cluster_slots(error, seed));
  CHECK_FALSE(SlotMap::from_cluster_slots(array({array({integer(5), integer(4)})}), seed));
  CHECK_FALSE(SlotMap::from_cluster_slots(array({range(0, 16384, "127.0.0.1", 7001)}), seed));
  CHECK_FALSE(SlotMap::from_cluster_slots(array({range(0, 10, "?", 7001)}), seed));
  CHECK_FALSE(SlotMap::from_cluster_slots(array({range(0, 10, "127.0.0.1", 70000)}), seed));
  // A lone node that never met another shows no host: the one asked.
  const auto lone = SlotMap::from_cluster_slots(array({range(0, 16383, "", 7001)}), seed);
  REQUIRE(lone);
  CHECK(address_text(*lone->owner(77)) == "10.0.0.9:7001");
}
