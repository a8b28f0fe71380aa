#pragma once
// Removes the oldest messages of rooms over their count or age limit, a little at a time: one call
// deletes at most retention_batch rows in one short transaction, so the writer's group commits
// never wait long behind it. Each room keeps a contiguous suffix and records where it starts
// (rooms.oldest_kept_seq), so history can report what was removed as a gap.

#include <cstdint>
#include <string>
#include <vector>

#include "sqlite_connection.hpp"
#include "sqlite_statement.hpp"
#include "store_types.hpp"

namespace chat::server::storage {

class Retention {
 public:
  Retention(SqliteConnection& db, const StoreOptions& options);

  bool enabled() const;

  struct Step {
    std::uint64_t deleted = 0;
    bool more = false;  // the batch budget ran out: call again soon
  };
  // One transaction's worth of deletions. Throws StoreError (the transaction is rolled back).
  Step step(std::int64_t now_ms);

 private:
  struct RoomState {
    std::string key;
    std::uint64_t last_seq = 0;
    std::uint64_t oldest_kept_seq = 1;
  };

  std::vector<RoomState> rooms_over_limits(std::int64_t cutoff_ms);
  // The room's new oldest_kept_seq, at most `budget` sequences above the current one.
  std::uint64_t new_oldest(const RoomState& room, std::int64_t cutoff_ms, std::uint64_t budget);
  std::uint64_t trim(const RoomState& room, std::uint64_t new_oldest);

  SqliteConnection& db_;
  StoreOptions options_;
  SqliteStatement rooms_;
  SqliteStatement first_young_;
  SqliteStatement delete_messages_;
  SqliteStatement delete_edits_;
  SqliteStatement advance_oldest_;
};

}  // namespace chat::server::storage
