#pragma once
// The reader's prepared statements and the queries built on them. Runs on the reader's read-only
// connection; each query sees one committed snapshot.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat.pb.h"
#include "sqlite_connection.hpp"
#include "sqlite_statement.hpp"
#include "store_types.hpp"

namespace chat::server::storage {

class ReadStatements {
 public:
  explicit ReadStatements(SqliteConnection& db);

  HistoryResult history(const std::string& room_key, const HistoryQuery& query);
  std::vector<RoomRecord> load_rooms();
  std::vector<v1::RoomMessage> load_recent(const std::string& room_key, std::uint32_t count);
  std::vector<DedupEntry> load_recent_ids(const std::string& room_key, std::uint32_t count);
  ReadMarkersResult read_markers(const std::string& account_key);
  FindAccountResult find_account(const std::string& nick_key);

 private:
  std::optional<RoomRecord> find_room(const std::string& room_key);
  // Runs a page statement (room_key, seq bound, row limit) and returns its rows ascending.
  std::vector<v1::RoomMessage> page(SqliteStatement& statement, const RoomRecord& room,
                                    std::uint64_t seq, std::int64_t rows, bool descending);

  SqliteStatement find_room_;
  SqliteStatement all_rooms_;
  SqliteStatement after_;
  SqliteStatement before_;
  SqliteStatement recent_ids_;
  SqliteStatement markers_;
  SqliteStatement account_;
};

}  // namespace chat::server::storage
