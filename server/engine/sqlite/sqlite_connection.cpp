#include "sqlite_connection.hpp"

#include <sqlite3.h>

#include <system_error>

#include "sqlite_statement.hpp"
#include "store_types.hpp"

namespace chat::server::storage {

namespace {

std::string describe(sqlite3* db) {
  std::string text = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  const int os_error = db != nullptr ? sqlite3_system_errno(db) : 0;
  if (os_error != 0) text += " (" + std::generic_category().message(os_error) + ")";
  return text;
}

}  // namespace

SqliteConnection::SqliteConnection(std::filesystem::path path, int flags) : path_(std::move(path)) {
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason = describe(db_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(path_.string() + ": cannot open database: " + reason);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

SqliteConnection::~SqliteConnection() { sqlite3_close_v2(db_); }

void SqliteConnection::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
}

std::string SqliteConnection::query_text(std::string_view sql) {
  SqliteStatement statement(*this, sql);
  if (!statement.step()) fail(std::string(sql) + " returned nothing");
  return statement.text(0);
}

std::int64_t SqliteConnection::query_int(std::string_view sql) {
  SqliteStatement statement(*this, sql);
  if (!statement.step()) fail(std::string(sql) + " returned nothing");
  return statement.int64(0);
}

std::int64_t SqliteConnection::changes() const { return sqlite3_changes64(db_); }

bool SqliteConnection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

void SqliteConnection::fail(std::string_view what) const {
  throw StoreError(path_.string() + ": " + std::string(what) + ": " + describe(db_));
}

}  // namespace chat::server::storage
