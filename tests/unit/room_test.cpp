// One room's state and decisions, with no shard, session or store: members per shard, the
// history a join or resume starts with, History answered from memory or left to the store, and
// resends while the first copy is on its way.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "decode_frame.hpp"
#include "room.hpp"

namespace chat::server {
namespace {

v1::RoomMessage message(std::uint64_t seq, const std::string& text = "x",
                        std::uint64_t client_msg_id = 0) {
  v1::RoomMessage out;
  out.set_room("Lobby");
  out.set_seq(seq);
  out.set_from("alice");
  out.set_text(text);
  out.set_client_msg_id(client_msg_id);
  return out;
}

// A room whose memory keeps sequences first..last of a room settled at last.
Room room_with(std::uint64_t first, std::uint64_t last, std::size_t keep = 100) {
  Room room("Lobby", 2, false);
  room.order().reset(last);
  std::vector<v1::RoomMessage> kept;
  for (std::uint64_t seq = first; seq <= last && first != 0; ++seq) kept.push_back(message(seq));
  room.replace_history(std::move(kept), keep);
  return room;
}

// What the frames say: "gap:F-T" or "seq", in order.
std::vector<std::string> described(const std::vector<SharedFrame>& frames) {
  std::vector<std::string> out;
  for (const SharedFrame& frame : frames) {
    const v1::ServerFrame decoded = test::decode(*frame);
    if (decoded.has_gap()) {
      std::string gap = "gap:";
      gap += std::to_string(decoded.gap().from_seq());
      gap += '-';
      gap += std::to_string(decoded.gap().to_seq());
      out.push_back(gap);
    } else {
      out.push_back(std::to_string(decoded.room_message().seq()));
    }
  }
  return out;
}

std::vector<std::uint64_t> sequences(const v1::HistoryReply& reply) {
  std::vector<std::uint64_t> out;
  for (const auto& kept : reply.messages()) out.push_back(kept.seq());
  return out;
}

JoinArgs join_with_history(std::uint32_t history) {
  JoinArgs join;
  join.history = history;
  return join;
}

JoinArgs resume_after(std::uint64_t seq) {
  JoinArgs join;
  join.resume_after = seq;
  return join;
}

v1::History history_query(std::uint32_t limit) {
  v1::History query;
  query.set_limit(limit);
  return query;
}

}  // namespace

TEST_CASE("a room counts its members per shard and knows each one's nick") {
  Room room("Lobby", 3, false);
  CHECK(room.add_member({.shard = 0, .id = 1}, "alice"));
  CHECK(room.add_member({.shard = 2, .id = 2}, "bob"));
  CHECK(room.add_member({.shard = 2, .id = 3}, "carol"));
  CHECK_FALSE(room.add_member({.shard = 2, .id = 3}, "carol"));  // already a member
  CHECK(room.members_per_shard() == std::vector<std::uint32_t>{1, 0, 2});
  CHECK(room.member_total() == 3);
  CHECK(room.has_member(2));

  CHECK(room.remove_member({.shard = 2, .id = 2}) == "bob");
  CHECK_FALSE(room.remove_member({.shard = 2, .id = 2}).has_value());
  CHECK(room.members_per_shard() == std::vector<std::uint32_t>{1, 0, 1});
  CHECK_FALSE(room.has_member(2));
  REQUIRE(room.find_member(3) != nullptr);
  CHECK(room.find_member(3)->nick == "carol");
}

TEST_CASE("a room lists nicks sorted by name, at most as many as asked for") {
  Room room("Lobby", 1, false);
  for (const char* nick : {"dave", "Bob", "alice", "carol"}) {
    room.add_member({.shard = 0, .id = room.members().size() + 1}, nick);
  }
  std::vector<std::string> all;
  for (const std::string* nick : room.nicks(0)) all.push_back(*nick);
  CHECK(all == std::vector<std::string>{"alice", "Bob", "carol", "dave"});
  CHECK(room.nicks(2).size() == 2);
  CHECK(room.nicks(10).size() == 4);
}

TEST_CASE("a cluster room counts the other nodes' members and starts not live") {
  Room room("Lobby", 1, true);
  CHECK_FALSE(room.live());
  REQUIRE(room.cluster() != nullptr);
  room.add_member({.shard = 0, .id = 1}, "alice");
  room.cluster()->remote.reset({{"n1:1", "alice"}, {"n2:7", "bob"}, {"n2:8", "carol"}}, "n1");
  room.cluster()->live = true;
  CHECK(room.live());
  CHECK(room.member_total() == 3);
  CHECK(room.nicks(0).size() == 3);
  CHECK(room.info().member_count() == 3);

  Room embedded("Lobby", 1, false);
  CHECK(embedded.live());
  CHECK(embedded.cluster() == nullptr);
}

TEST_CASE("a join starts with the newest messages asked for") {
  Room room = room_with(1, 10);
  CHECK(described(room.catch_up_frames(join_with_history(3), 1 << 20)) ==
        std::vector<std::string>{"8", "9", "10"});
  CHECK(described(room.catch_up_frames(join_with_history(50), 1 << 20)).size() == 10);
  CHECK(room.catch_up_frames(join_with_history(0), 1 << 20).empty());
}

TEST_CASE("a resume gets what it missed, and a Gap for what memory no longer has") {
  SUBCASE("everything missed is kept") {
    Room room = room_with(1, 10);
    CHECK(described(room.catch_up_frames(resume_after(7), 1 << 20)) ==
          std::vector<std::string>{"8", "9", "10"});
  }
  SUBCASE("memory keeps only the newest") {
    Room room = room_with(6, 10);
    CHECK(described(room.catch_up_frames(resume_after(2), 1 << 20)) ==
          std::vector<std::string>{"gap:3-5", "6", "7", "8", "9", "10"});
  }
  SUBCASE("what does not fit the budget is a Gap too, never a cut in the middle") {
    Room room = room_with(1, 10);
    const std::size_t one = room_message_frame(message(10), "Lobby")->bytes.size();
    CHECK(described(room.catch_up_frames(resume_after(0), 2 * one)) ==
          std::vector<std::string>{"gap:1-8", "9", "10"});
  }
  SUBCASE("a sequence from the future misses nothing") {
    Room room = room_with(1, 10);
    CHECK(room.catch_up_frames(resume_after(99), 1 << 20).empty());
  }
}

TEST_CASE("History is answered from memory when memory covers the range asked for") {
  Room room = room_with(11, 30);
  SUBCASE("the newest") {
    auto reply = room.history_from_memory(history_query(5), 5, 1 << 20);
    REQUIRE(reply);
    CHECK(sequences(*reply) == std::vector<std::uint64_t>{26, 27, 28, 29, 30});
    CHECK(reply->has_more());
  }
  SUBCASE("before a sequence") {
    v1::History query = history_query(5);
    query.set_before_seq(20);
    auto reply = room.history_from_memory(query, 5, 1 << 20);
    REQUIRE(reply);
    CHECK(sequences(*reply) == std::vector<std::uint64_t>{15, 16, 17, 18, 19});
  }
  SUBCASE("after a sequence, up to the settled one") {
    v1::History query = history_query(50);
    query.set_after_seq(27);
    auto reply = room.history_from_memory(query, 50, 1 << 20);
    REQUIRE(reply);
    CHECK(sequences(*reply) == std::vector<std::uint64_t>{28, 29, 30});
    CHECK_FALSE(reply->has_more());
  }
  SUBCASE("after the newest: nothing, and nothing more") {
    v1::History query = history_query(5);
    query.set_after_seq(30);
    auto reply = room.history_from_memory(query, 5, 1 << 20);
    REQUIRE(reply);
    CHECK(reply->messages().empty());
    CHECK_FALSE(reply->has_more());
  }
  SUBCASE("reaching below what memory keeps: the store answers") {
    v1::History query = history_query(5);
    query.set_before_seq(13);
    CHECK_FALSE(room.history_from_memory(query, 5, 1 << 20).has_value());
    CHECK_FALSE(room.history_from_memory(history_query(25), 25, 1 << 20).has_value());
  }
  SUBCASE("a page cut by the frame budget says there is more") {
    const std::size_t one = message(30).ByteSizeLong() + 8;
    auto reply = room.history_from_memory(history_query(10), 10, 3 * one);
    REQUIRE(reply);
    CHECK(sequences(*reply) == std::vector<std::uint64_t>{28, 29, 30});
    CHECK(reply->has_more());
  }
}

TEST_CASE("a resend while the first copy is on its way waits for that copy's answer") {
  Room room("Lobby", 1, false);
  const Requester first{.who = {.shard = 0, .id = 1}, .request_id = 10};
  const Requester again{.who = {.shard = 0, .id = 1}, .request_id = 11};
  CHECK(room.start_send("alice", 5, first));
  CHECK_FALSE(room.start_send("alice", 5, again));
  CHECK(room.start_send("alice", 6, first));  // another message
  CHECK(room.start_send("bob", 5, first));    // another sender
  const std::vector<Requester> waiting = room.finish_send("alice", 5);
  REQUIRE(waiting.size() == 1);
  CHECK(waiting[0].request_id == 11);
  CHECK(room.finish_send("alice", 5).empty());
  CHECK(room.start_send("alice", 5, again));  // answered: a later copy is sent again
}

TEST_CASE(
    "memory finds a message by sequence and by its sender's id, forgets by count, and shows "
    "edits") {
  Room room("Lobby", 1, false);
  room.order().reset(3);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    v1::RoomMessage kept = message(seq, std::to_string(seq), 100 + seq);
    kept.set_from("alice");
    room.remember(std::move(kept), 2);
  }
  CHECK(room.history().size() == 2);
  CHECK(room.kept(1) == nullptr);
  REQUIRE(room.kept(3) != nullptr);
  CHECK(room.kept(3)->text() == "3");
  CHECK(room.kept_send("alice", 103) != nullptr);
  CHECK(room.kept_send("alice", 101) == nullptr);
  room.keep_newest(1);
  CHECK(room.history().size() == 1);
  CHECK(room.history().front().seq() == 3);

  room.edit_kept(3, "three");
  CHECK(room.kept(3)->text() == "three");
  CHECK(room.kept(3)->edited());
  room.delete_kept(3);
  CHECK(room.kept(3)->text().empty());
  CHECK(room.kept(3)->deleted());
  room.edit_kept(1, "gone");  // not kept: nothing to show
  CHECK(room.kept(1) == nullptr);
}

}  // namespace chat::server
