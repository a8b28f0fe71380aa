#include "sqlite_statement.hpp"

#include <sqlite3.h>

#include "sqlite_connection.hpp"

namespace chat::server::storage {

namespace {

// SQLITE_TRANSIENT without its C-style cast: SQLite copies the bound text.
const auto copy_text = reinterpret_cast<sqlite3_destructor_type>(static_cast<std::intptr_t>(-1));

}  // namespace

SqliteStatement::SqliteStatement(SqliteConnection& connection, std::string_view sql)
    : connection_(connection) {
  const int rc = sqlite3_prepare_v3(connection_.handle(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &statement_, nullptr);
  if (rc != SQLITE_OK) connection_.fail("cannot prepare \"" + std::string(sql) + "\"");
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

SqliteStatement& SqliteStatement::bind_int(int index, std::int64_t value) {
  if (sqlite3_bind_int64(statement_, index, value) != SQLITE_OK) connection_.fail("bind");
  return *this;
}

SqliteStatement& SqliteStatement::bind_uint(int index, std::uint64_t value) {
  return bind_int(index, static_cast<std::int64_t>(value));
}

SqliteStatement& SqliteStatement::bind_text(int index, std::string_view value) {
  if (sqlite3_bind_text64(statement_, index, value.data(), value.size(), copy_text, SQLITE_UTF8) !=
      SQLITE_OK) {
    connection_.fail("bind");
  }
  return *this;
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  connection_.fail("step");
}

void SqliteStatement::run() {
  while (step()) {
  }
}

void SqliteStatement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

std::int64_t SqliteStatement::int64(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string SqliteStatement::text(int column) const {
  const auto* data = sqlite3_column_text(statement_, column);
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement_, column));
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), size);
}

bool SqliteStatement::is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

}  // namespace chat::server::storage
