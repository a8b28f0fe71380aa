#pragma once
// A prepared statement. Values are bound by 1-based index; uint64 values (sequences, client ids)
// are stored as the int64 with the same bits, so any 64-bit client_msg_id round-trips.

#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3_stmt;

namespace chat::server::storage {

class SqliteConnection;

class SqliteStatement {
 public:
  SqliteStatement(SqliteConnection& connection, std::string_view sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  SqliteStatement& bind_int(int index, std::int64_t value);
  SqliteStatement& bind_uint(int index, std::uint64_t value);
  SqliteStatement& bind_text(int index, std::string_view value);

  // True when a row is ready; false when the statement is done. Throws StoreError on failure.
  bool step();
  // Steps to the end of a statement that returns no rows.
  void run();
  // Ends the statement's use (and so its read snapshot) and clears the bindings.
  void reset();

  std::int64_t int64(int column) const;
  std::uint64_t uint64(int column) const { return static_cast<std::uint64_t>(int64(column)); }
  bool boolean(int column) const { return int64(column) != 0; }
  std::string text(int column) const;
  bool is_null(int column) const;

 private:
  SqliteConnection& connection_;
  sqlite3_stmt* statement_ = nullptr;
};

// Resets a statement when leaving the scope that uses it, also when a step throws; a statement left
// mid-result would keep its read transaction (and an old snapshot) open.
class [[nodiscard]] StatementUse {
 public:
  explicit StatementUse(SqliteStatement& statement) : statement_(statement) { statement_.reset(); }
  ~StatementUse() { statement_.reset(); }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  SqliteStatement* operator->() { return &statement_; }
  SqliteStatement& operator*() { return statement_; }

 private:
  SqliteStatement& statement_;
};

}  // namespace chat::server::storage
