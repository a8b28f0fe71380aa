#include <doctest/doctest.h>
#include <sqlite3.h>

#include <unistd.h>
#include <cstdlib>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chat.pb.h"
#include "password_hasher.hpp"
#include "sqlite_connection.hpp"
#include "sqlite_store.hpp"

namespace fs = std::filesystem;
using namespace chat::server::storage;
using Kind = HistoryQuery::Kind;

namespace {

// A fresh directory per test, removed (permissions restored first) at the end.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("chat-storage-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Starts an operation with a callback and waits (with a deadline, never a sleep) for its result.
template <typename Result, typename Start>
Result await(Start start) {
  auto promise = std::make_shared<std::promise<Result>>();
  auto answer = promise->get_future();
  start([promise](Result result) { promise->set_value(std::move(result)); });
  REQUIRE(answer.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  return answer.get();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

chat::v1::RoomMessage message(std::uint64_t seq, std::uint64_t client_id = 0,
                              std::int64_t time_ms = now_ms()) {
  chat::v1::RoomMessage m;
  m.set_room("Lobby");
  m.set_seq(seq);
  m.set_from("Alice");
  m.set_text("message " + std::to_string(seq));
  m.set_server_time_ms(time_ms);
  m.set_client_msg_id(client_id);
  return m;
}

AppendResult append(SqliteStore& store, const chat::v1::RoomMessage& m,
                    const std::string& sender = "alice") {
  return await<AppendResult>([&](auto done) { store.append(m, "lobby", sender, done); });
}

// Appends seqs first..last without waiting in between; returns once the last is durable.
void append_range(SqliteStore& store, std::uint64_t first, std::uint64_t last,
                  std::int64_t time_ms = now_ms()) {
  auto failures = std::make_shared<std::atomic<int>>(0);
  for (auto seq = first; seq < last; ++seq) {
    store.append(message(seq, 0, time_ms), "lobby", "alice", [failures](AppendResult r) {
      if (!r.ok) ++*failures;
    });
  }
  REQUIRE(append(store, message(last, 0, time_ms)).ok);
  REQUIRE(*failures == 0);
}

HistoryResult history(SqliteStore& store, Kind kind, std::uint64_t seq, std::uint32_t limit) {
  return await<HistoryResult>([&](auto done) {
    store.history("lobby", HistoryQuery{.kind = kind, .seq = seq, .limit = limit}, done);
  });
}

std::vector<std::uint64_t> seqs(const HistoryResult& result) {
  std::vector<std::uint64_t> out;
  for (const auto& m : result.messages) out.push_back(m.seq());
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (auto seq = first; seq <= last; ++seq) out.push_back(seq);
  return out;
}

using Gap = std::optional<std::pair<std::uint64_t, std::uint64_t>>;
Gap gap(std::uint64_t from, std::uint64_t to) { return std::pair{from, to}; }

std::string open_error(const fs::path& dir) {
  try {
    SqliteStore::open(dir);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(opened)";
}

// A database in dir whose trigger refuses every message with the text "refused" (the store gives
// sequences itself, so no clash can be forced); returns its file.
std::string add_refusing_trigger(const fs::path& dir) {
  SqliteStore::open(dir);  // creates the schema
  const std::string db = (dir / "chat.db").string();
  REQUIRE(std::system(("sqlite3 '" + db +
                       "' \"CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.text = "
                       "'refused' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;\"")
                          .c_str()) == 0);
  return db;
}

RetentionResult enforce_retention(SqliteStore& store) {
  return await<RetentionResult>([&](auto done) { store.enforce_retention_now(done); });
}

}  // namespace

TEST_CASE("an appended message comes back from history with every field") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path());
  auto sent = message(1, 7, 1234);
  sent.set_action(true);
  sent.set_account(true);
  sent.set_notice(true);
  const auto result = append(*store, sent);
  CHECK(result.ok);
  CHECK_FALSE(result.duplicate);
  CHECK(result.seq == 1);

  const auto page = history(*store, Kind::latest, 0, 10);
  REQUIRE(page.ok);
  REQUIRE(page.messages.size() == 1);
  CHECK(page.messages[0].SerializeAsString() == sent.SerializeAsString());
  CHECK_FALSE(page.has_more);
  CHECK_FALSE(page.gap);
}

TEST_CASE("group commit: appends from four threads are all acknowledged in fewer commits") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path());
  // The first callback holds the writer thread until every append is queued, so the test does not
  // depend on how fast the writer would otherwise be; the appends start once it holds (a writer
  // slow to wake up would otherwise take them into the first commit too).
  std::promise<void> all_queued;
  std::promise<void> holding;
  std::shared_future<void> queued = all_queued.get_future().share();
  store->append(message(1), "hold", "alice", [queued, &holding](AppendResult) {
    holding.set_value();
    queued.wait();
  });
  REQUIRE(holding.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  constexpr int threads = 4;
  constexpr int per_thread = 250;
  std::atomic<int> acknowledged{0};
  std::atomic<int> failed{0};
  std::promise<void> all_done;
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      for (std::uint64_t seq = 1; seq <= per_thread; ++seq) {
        store->append(message(seq), "room-" + std::to_string(t), "alice", [&](AppendResult r) {
          if (!r.ok) ++failed;
          if (++acknowledged == threads * per_thread) all_done.set_value();
        });
      }
    });
  }
  for (auto& sender : senders) sender.join();
  all_queued.set_value();
  REQUIRE(all_done.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK(failed == 0);
  const auto stats = store->stats();
  CHECK(stats.ops_committed == threads * per_thread + 1);
  CHECK(stats.commits == 2);
  MESSAGE("messages per commit: ",
          static_cast<double>(stats.ops_committed) / static_cast<double>(stats.commits));
}

TEST_CASE("a failing write is reported alone, and the rest of its batch commits") {
  TempDir dir;
  add_refusing_trigger(dir.path());
  auto store = SqliteStore::open(dir.path());
  REQUIRE(append(*store, message(1)).ok);
  auto refused = message(2);
  refused.set_text("refused");
  std::promise<AppendResult> clash;
  store->append(refused, "lobby", "alice", [&](AppendResult r) { clash.set_value(r); });
  CHECK(append(*store, message(2)).ok);
  const auto clashed = clash.get_future().get();
  CHECK_FALSE(clashed.ok);
  CHECK(clashed.error.find("refused by the test") != std::string::npos);
  CHECK(seqs(history(*store, Kind::after, 0, 10)) == range(1, 2));  // the failure took no sequence
}

TEST_CASE("a write failing inside a batch is undone alone: those after it commit in order") {
  TempDir dir;
  const std::string db = add_refusing_trigger(dir.path());
  auto store = SqliteStore::open(dir.path());
  // Another connection holds the write lock while four writes are queued: the writer waits for it
  // at its first BEGIN, so the refused write and the one after it are in one batch.
  sqlite3* holder = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &holder) == SQLITE_OK);
  REQUIRE(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  std::vector<std::promise<AppendResult>> results(4);
  for (std::size_t i = 0; i < results.size(); ++i) {
    auto m = message(0);
    m.set_text(i == 2 ? "refused" : "kept " + std::to_string(i));
    store->append(m, "lobby", "alice", [&results, i](AppendResult r) { results[i].set_value(r); });
  }
  REQUIRE(sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(holder);

  std::vector<AppendResult> got;
  for (auto& result : results) got.push_back(result.get_future().get());
  CHECK(got[0].seq == 1);
  CHECK(got[1].seq == 2);
  CHECK_FALSE(got[2].ok);
  CHECK(got[2].error.find("refused by the test") != std::string::npos);
  CHECK(got[3].ok);
  CHECK(got[3].seq == 3);  // the refused write's sequence was given back
  const auto kept = history(*store, Kind::after, 0, 10);
  REQUIRE(kept.messages.size() == 3);
  CHECK(kept.messages[2].text() == "kept 3");
  CHECK(store->stats().failed_batches == 0);
}

TEST_CASE("the store gives sequences: a duplicate takes none, and none is handed out twice") {
  TempDir dir;
  {
    auto store = SqliteStore::open(dir.path());
    auto first = message(1);
    first.set_client_msg_id(11);
    CHECK(append(*store, first).seq == 1);
    CHECK(append(*store, message(1)).seq == 2);  // asked for 1: the next free one is 2
    auto again = message(3);
    again.set_client_msg_id(11);
    const auto duplicate = append(*store, again);
    CHECK(duplicate.duplicate);
    CHECK(duplicate.seq == 1);
    CHECK(append(*store, message(3)).seq == 3);
  }
  auto store = SqliteStore::open(dir.path());  // after a restart the count goes on
  CHECK(append(*store, message(1)).seq == 4);
  CHECK(append(*store, message(9)).seq == 9);  // at least what the caller asked for
  CHECK(seqs(history(*store, Kind::after, 0, 10)) == std::vector<std::uint64_t>{1, 2, 3, 4, 9});
}

TEST_CASE("messages, rooms and de-dup ids survive a restart") {
  TempDir dir;
  {
    auto store = SqliteStore::open(dir.path());
    append_range(*store, 1, 4);
    REQUIRE(append(*store, message(5, 99)).ok);
    REQUIRE(
        await<WriteResult>([&](auto done) { store->set_topic("lobby", "Lobby", "hi", done); }).ok);
  }
  auto store = SqliteStore::open(dir.path());
  const auto rooms = store->load_rooms();
  REQUIRE(rooms.size() == 1);
  CHECK(rooms[0].key == "lobby");
  CHECK(rooms[0].name == "Lobby");
  CHECK(rooms[0].topic == "hi");
  CHECK(rooms[0].last_seq == 5);
  CHECK(rooms[0].oldest_kept_seq == 1);
  CHECK(seqs(history(*store, Kind::after, 0, 100)) == range(1, 5));
  const auto recent = store->load_recent("lobby", 3);
  REQUIRE(recent.size() == 3);
  CHECK(recent.front().seq() == 3);
  CHECK(recent.back().seq() == 5);
  const auto ids = store->load_recent_ids("lobby", 10);
  REQUIRE(ids.size() == 1);
  CHECK(ids[0].sender_key == "alice");
  CHECK(ids[0].client_msg_id == 99);
  CHECK(ids[0].seq == 5);
}

TEST_CASE("a resent client_msg_id is stored once and answered with the original seq") {
  TempDir dir;
  const std::uint64_t big_id = 0xfedcba9876543210ULL;  // above INT64_MAX: must round-trip
  {
    auto store = SqliteStore::open(dir.path());
    CHECK(append(*store, message(1, big_id)).seq == 1);
    const auto again = append(*store, message(2, big_id));
    CHECK(again.ok);
    CHECK(again.duplicate);
    CHECK(again.seq == 1);
    const auto other_sender = append(*store, message(2, big_id), "bob");
    CHECK_FALSE(other_sender.duplicate);
    CHECK(other_sender.seq == 2);
    CHECK(seqs(history(*store, Kind::after, 0, 10)) == range(1, 2));
  }
  auto store = SqliteStore::open(dir.path());
  const auto after_restart = append(*store, message(3, big_id));
  CHECK(after_restart.duplicate);
  CHECK(after_restart.seq == 1);
  CHECK(store->load_rooms().at(0).last_seq == 2);
  CHECK(history(*store, Kind::latest, 0, 1).messages.at(0).client_msg_id() == big_id);
}

TEST_CASE("history pages forwards and backwards and says when more exist") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path());
  append_range(*store, 1, 10);

  auto page = history(*store, Kind::after, 0, 4);
  CHECK(seqs(page) == range(1, 4));
  CHECK(page.has_more);
  CHECK(seqs(history(*store, Kind::after, 4, 4)) == range(5, 8));
  page = history(*store, Kind::after, 8, 4);
  CHECK(seqs(page) == range(9, 10));
  CHECK_FALSE(page.has_more);

  page = history(*store, Kind::before, 11, 4);
  CHECK(seqs(page) == range(7, 10));
  CHECK(page.has_more);
  CHECK(seqs(history(*store, Kind::before, 7, 4)) == range(3, 6));
  page = history(*store, Kind::before, 3, 4);
  CHECK(seqs(page) == range(1, 2));
  CHECK_FALSE(page.has_more);

  page = history(*store, Kind::latest, 0, 3);
  CHECK(seqs(page) == range(8, 10));
  CHECK(page.has_more);
  page = history(*store, Kind::latest, 0, 10);
  CHECK(seqs(page) == range(1, 10));
  CHECK_FALSE(page.has_more);
  for (const auto& p : {page, history(*store, Kind::after, 0, 4)}) CHECK_FALSE(p.gap);
}

TEST_CASE("history limits at the edges") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path());
  append_range(*store, 1, 5);
  auto page = history(*store, Kind::latest, 0, 0);
  CHECK(page.messages.empty());
  CHECK(page.has_more);
  page = history(*store, Kind::after, 0, UINT32_MAX);
  CHECK(seqs(page) == range(1, 5));
  CHECK_FALSE(page.has_more);
  CHECK(seqs(history(*store, Kind::before, UINT64_MAX, UINT32_MAX)) == range(1, 5));
  CHECK(history(*store, Kind::after, UINT64_MAX, 10).messages.empty());
  CHECK(history(*store, Kind::before, 1, 10).messages.empty());
  const auto unknown =
      await<HistoryResult>([&](auto done) { store->history("nowhere", HistoryQuery{}, done); });
  CHECK(unknown.ok);
  CHECK(unknown.messages.empty());
}

TEST_CASE("retention by count removes the oldest and history reports the gap") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path(), {.max_messages_per_room = 5, .retention_batch = 3});
  append_range(*store, 1, 12);
  CHECK(enforce_retention(*store).ok);
  // The writer may have started on its own after the appends: count everything it deleted.
  CHECK(store->stats().retention_deleted == 7);
  CHECK(store->load_rooms().at(0).oldest_kept_seq == 8);

  auto page = history(*store, Kind::after, 3, 100);
  CHECK(page.gap == gap(4, 7));
  CHECK(seqs(page) == range(8, 12));
  CHECK_FALSE(history(*store, Kind::after, 7, 100).gap);
  page = history(*store, Kind::latest, 0, 100);
  CHECK(page.gap == gap(1, 7));
  CHECK(seqs(page) == range(8, 12));
  page = history(*store, Kind::before, 10, 10);
  CHECK(page.gap == gap(1, 7));
  CHECK(seqs(page) == range(8, 9));
  CHECK_FALSE(history(*store, Kind::before, 12, 2).gap);  // the page did not reach the hole
}

TEST_CASE("retention by age removes old messages, survives a restart, reports the gap") {
  TempDir dir;
  const StoreOptions options{.max_age = std::chrono::hours(1)};
  {
    auto store = SqliteStore::open(dir.path(), options);
    append_range(*store, 1, 4, 1000);  // 1970: long expired
    append_range(*store, 5, 6);
    CHECK(enforce_retention(*store).ok);
    CHECK(store->stats().retention_deleted == 4);
  }
  auto store = SqliteStore::open(dir.path(), options);
  const auto page = history(*store, Kind::after, 0, 100);
  CHECK(page.gap == gap(1, 4));
  CHECK(seqs(page) == range(5, 6));
}

TEST_CASE("a history read racing retention sees one snapshot: the gap ends where messages start") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path(), {.max_messages_per_room = 2});
  append_range(*store, 1, 3);
  std::atomic<bool> writing{true};
  std::atomic<int> reads{0};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    // A read of the room's row and then its messages, each in its own snapshot, could see the
    // oldest kept sequence from before a trim and the messages from after it: a silent hole.
    while (writing || reads < 100) {
      const auto page = history(*store, Kind::after, 0, 100);
      ++reads;
      const std::uint64_t first = page.messages.empty() ? 0 : page.messages.front().seq();
      const std::uint64_t gap_end = page.gap ? page.gap->second : 0;
      if (first == 0 || first != gap_end + 1) ++torn;
    }
  });
  for (std::uint64_t seq = 4; seq <= 400; ++seq) {
    REQUIRE(append(*store, message(seq)).ok);
    REQUIRE(enforce_retention(*store).ok);
  }
  writing = false;
  reader.join();
  CHECK(torn.load() == 0);
  CHECK(reads.load() >= 100);
}

TEST_CASE("only the sender edits, and history shows the current text") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path());
  append_range(*store, 1, 2);
  const auto edit = [&](std::uint64_t seq, const std::string& sender) {
    return await<EditResult>(
        [&](auto done) { store->edit("lobby", seq, sender, "fixed", now_ms(), done); });
  };
  CHECK(edit(1, "bob").status == EditResult::Status::forbidden);
  CHECK(edit(99, "alice").status == EditResult::Status::not_found);
  CHECK(edit(1, "alice").status == EditResult::Status::ok);
  const auto page = history(*store, Kind::after, 0, 10);
  CHECK(page.messages.at(0).text() == "fixed");
  CHECK(page.messages.at(0).edited());
  CHECK_FALSE(page.messages.at(1).edited());
}

TEST_CASE("only the sender deletes, and history keeps the row without its text") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path());
  append_range(*store, 1, 2);
  const auto remove = [&](std::uint64_t seq, const std::string& sender) {
    return await<EditResult>([&](auto done) { store->remove("lobby", seq, sender, done); });
  };
  CHECK(remove(1, "bob").status == EditResult::Status::forbidden);
  CHECK(remove(42, "alice").status == EditResult::Status::not_found);
  CHECK(remove(1, "alice").status == EditResult::Status::ok);
  CHECK(remove(1, "alice").status == EditResult::Status::ok);
  const auto edited = await<EditResult>(
      [&](auto done) { store->edit("lobby", 1, "alice", "again", now_ms(), done); });
  CHECK(edited.status == EditResult::Status::not_found);
  const auto page = history(*store, Kind::after, 0, 10);
  CHECK(page.messages.at(0).deleted());
  CHECK(page.messages.at(0).text().empty());
  CHECK(page.messages.at(1).text() == "message 2");
}

TEST_CASE("read markers keep the highest seq and survive a restart") {
  TempDir dir;
  const auto mark = [](SqliteStore& store, const std::string& room, std::uint64_t seq) {
    REQUIRE(await<WriteResult>([&](auto done) { store.mark_read("alice", room, seq, done); }).ok);
  };
  {
    auto store = SqliteStore::open(dir.path());
    append_range(*store, 1, 5);
    mark(*store, "lobby", 5);
    mark(*store, "lobby", 3);
    mark(*store, "attic", 2);
  }
  auto store = SqliteStore::open(dir.path());
  const auto result =
      await<ReadMarkersResult>([&](auto done) { store->read_markers("alice", done); });
  REQUIRE(result.ok);
  REQUIRE(result.markers.size() == 2);
  CHECK(result.markers[0].room_key == "attic");
  CHECK(result.markers[0].room == "attic");  // no room row: the key stands in for the name
  CHECK(result.markers[0].seq == 2);
  CHECK(result.markers[1].room == "Lobby");
  CHECK(result.markers[1].seq == 5);
}

TEST_CASE("an account is created once and found by its key") {
  TempDir dir;
  auto store = SqliteStore::open(dir.path());
  const auto create = [&](const std::string& hash) {
    return await<CreateAccountResult>(
        [&](auto done) { store->create_account("alice", "Alice", hash, done); });
  };
  CHECK(create("$argon2id$one").status == CreateAccountResult::Status::created);
  CHECK(create("$argon2id$two").status == CreateAccountResult::Status::exists);
  const auto find = [&](const std::string& key) {
    return await<FindAccountResult>([&](auto done) { store->find_account(key, done); });
  };
  CHECK(find("alice").password_hash == "$argon2id$one");
  const auto missing = find("bob");
  CHECK(missing.ok);
  CHECK_FALSE(missing.password_hash);
}

TEST_CASE("the destructor finishes queued writes and calls their callbacks") {
  TempDir dir;
  std::atomic<int> acknowledged{0};
  {
    auto store = SqliteStore::open(dir.path());
    for (std::uint64_t seq = 1; seq <= 100; ++seq) {
      store->append(message(seq), "lobby", "alice", [&](AppendResult r) {
        if (r.ok) ++acknowledged;
      });
    }
  }
  CHECK(acknowledged == 100);
  CHECK(SqliteStore::open(dir.path())->load_rooms().at(0).last_seq == 100);
}

TEST_CASE("passwords hash to argon2id and verify only with the right password") {
  const auto hash = hash_password("correct horse", PasswordHashCost::minimum());
  CHECK(hash.rfind("$argon2id$", 0) == 0);
  CHECK(verify_password(hash, "correct horse"));
  CHECK_FALSE(verify_password(hash, "wrong horse"));
  CHECK_FALSE(verify_password("not a hash", "correct horse"));

  PasswordHasher hasher(2, PasswordHashCost::minimum());
  const auto pooled = await<std::string>([&](auto done) { hasher.hash("secret", done); });
  CHECK(pooled.rfind("$argon2id$", 0) == 0);
  CHECK(await<bool>([&](auto done) { hasher.verify(pooled, "secret", done); }));
  CHECK_FALSE(await<bool>([&](auto done) { hasher.verify(pooled, "Secret", done); }));
}

TEST_CASE("a database file that is not a database is refused with its path") {
  TempDir dir;
  std::ofstream(dir.path() / "chat.db") << std::string(4096, 'x');
  const auto error = open_error(dir.path());
  CHECK(error.find((dir.path() / "chat.db").string()) != std::string::npos);
  CHECK(error.find("not a database") != std::string::npos);
}

TEST_CASE("a read-only database file is refused with its path") {
  if (geteuid() == 0) {
    MESSAGE("skipped: root ignores file permissions");
    return;
  }
  TempDir dir;
  SqliteStore::open(dir.path());
  fs::permissions(dir.path() / "chat.db", fs::perms::owner_read);
  const auto error = open_error(dir.path());
  CHECK(error.find((dir.path() / "chat.db").string()) != std::string::npos);
  CHECK(error.find("read-only") != std::string::npos);
}

TEST_CASE("a version 1 database gains the account and notice columns and keeps its messages") {
  TempDir dir;
  {
    auto store = SqliteStore::open(dir.path());
    REQUIRE(append(*store, message(1)).ok);
  }
  {
    // What version 1 was: no account column.
    SqliteConnection db(dir.path() / "chat.db", SQLITE_OPEN_READWRITE);
    db.exec(
        "ALTER TABLE messages DROP COLUMN account; ALTER TABLE messages DROP COLUMN notice; "
        "PRAGMA user_version = 1;");
  }
  auto store = SqliteStore::open(dir.path());
  auto second = message(2);
  second.set_account(true);
  second.set_notice(true);
  REQUIRE(append(*store, second).ok);
  const auto page = history(*store, Kind::latest, 0, 10);
  REQUIRE(page.messages.size() == 2);
  CHECK(page.messages[0].text() == "message 1");
  CHECK_FALSE(page.messages[0].account());
  CHECK_FALSE(page.messages[0].notice());
  CHECK(page.messages[1].account());
  CHECK(page.messages[1].notice());
}

TEST_CASE("a database from a newer schema version is refused") {
  TempDir dir;
  SqliteStore::open(dir.path());
  {
    // user_version is the big-endian 32-bit integer at offset 60 of the database header.
    std::fstream file(dir.path() / "chat.db", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(60);
    file.write("\0\0\0\x63", 4);
  }
  const auto error = open_error(dir.path());
  CHECK(error.find("chat.db") != std::string::npos);
  CHECK(error.find("schema version 99") != std::string::npos);
}

TEST_CASE("a data dir that is a regular file is refused with its path") {
  TempDir dir;
  const auto file = dir.path() / "data";
  std::ofstream(file) << "not a directory";
  CHECK(open_error(file).find(file.string()) != std::string::npos);
}

TEST_CASE("a data dir without write permission is refused with its path") {
  if (geteuid() == 0) {
    MESSAGE("skipped: root ignores file permissions");
    return;
  }
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
  const auto error = open_error(dir.path());
  CHECK(error.find(dir.path().string()) != std::string::npos);
  CHECK(error.find("Permission denied") != std::string::npos);
}
