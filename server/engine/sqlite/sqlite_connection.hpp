#pragma once
// One SQLite connection, used by one thread at a time. Every failure throws StoreError naming the
// database file and SQLite's reason.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

struct sqlite3;

namespace chat::server::storage {

class SqliteConnection {
 public:
  // flags are sqlite3_open_v2 flags (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, ...).
  SqliteConnection(std::filesystem::path path, int flags);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  void exec(const char* sql);
  // Runs a statement that returns one text value (PRAGMA journal_mode, quick_check, ...).
  std::string query_text(std::string_view sql);
  std::int64_t query_int(std::string_view sql);
  std::int64_t changes() const;
  bool in_transaction() const;

  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }
  // Throws StoreError "<path>: <what>: <sqlite message>[ (<os error>)]".
  [[noreturn]] void fail(std::string_view what) const;

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

}  // namespace chat::server::storage
