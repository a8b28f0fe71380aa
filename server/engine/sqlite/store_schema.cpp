#include "store_schema.hpp"

#include <sqlite3.h>

#include <string>

#include "store_types.hpp"

namespace chat::server::storage {

namespace {

constexpr const char* create_schema_sql = R"sql(
BEGIN IMMEDIATE;
CREATE TABLE rooms(
  key TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  topic TEXT NOT NULL DEFAULT '',
  last_seq INTEGER NOT NULL DEFAULT 0,
  oldest_kept_seq INTEGER NOT NULL DEFAULT 1);
CREATE TABLE messages(
  room_key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  sender_key TEXT NOT NULL,
  sender TEXT NOT NULL,
  text TEXT NOT NULL,
  server_time_ms INTEGER NOT NULL,
  client_msg_id INTEGER NOT NULL DEFAULT 0,
  action INTEGER NOT NULL DEFAULT 0,
  edited INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  account INTEGER NOT NULL DEFAULT 0,
  notice INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(room_key, seq));
CREATE UNIQUE INDEX messages_by_client_id ON messages(room_key, sender_key, client_msg_id)
  WHERE client_msg_id != 0;
CREATE TABLE message_edits(
  room_key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  old_text TEXT NOT NULL,
  edited_at_ms INTEGER NOT NULL);
CREATE INDEX message_edits_by_message ON message_edits(room_key, seq);
CREATE TABLE accounts(
  nick_key TEXT PRIMARY KEY NOT NULL,
  nick TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE read_markers(
  account_key TEXT NOT NULL,
  room_key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(account_key, room_key));
PRAGMA user_version = 2;
COMMIT;
)sql";

// Version 2: messages say whether their sender was logged in to an account (IRC's account-tag),
// and whether they are notices.
constexpr const char* migrate_to_2_sql = R"sql(
BEGIN IMMEDIATE;
ALTER TABLE messages ADD COLUMN account INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN notice INTEGER NOT NULL DEFAULT 0;
PRAGMA user_version = 2;
COMMIT;
)sql";

void ensure_schema(SqliteConnection& db) {
  const auto version = db.query_int("PRAGMA user_version");
  if (version > schema_version) {
    throw StoreError(db.path().string() + ": schema version " + std::to_string(version) +
                     " is newer than this server's " + std::to_string(schema_version));
  }
  if (version == 1) {
    db.exec(migrate_to_2_sql);
  } else if (version != schema_version) {
    if (db.query_int("SELECT count(*) FROM sqlite_schema") != 0) {
      throw StoreError(db.path().string() +
                       ": not a chat store (tables exist but no schema version)");
    }
    db.exec(create_schema_sql);
  }
  // Added in version 1 without changing its meaning: written only by the readiness probe.
  db.exec("CREATE TABLE IF NOT EXISTS health(id INTEGER PRIMARY KEY, checked_at_ms INTEGER)");
}

// The first statement reads the file header, so a file that is not a database fails here.
std::string read_journal_mode(SqliteConnection& db) {
  try {
    return db.query_text("PRAGMA journal_mode=WAL");
  } catch (const StoreError&) {
    db.fail("cannot read database");
  }
}

void check_integrity(SqliteConnection& db) {
  const std::string result = db.query_text("PRAGMA quick_check");
  if (result != "ok") throw StoreError(db.path().string() + ": quick_check failed: " + result);
}

}  // namespace

std::unique_ptr<SqliteConnection> open_writer_connection(const std::filesystem::path& db_file,
                                                         bool sync) {
  // NOMUTEX: each connection is used by one thread at a time (its writer or reader thread), so
  // SQLite's per-call mutex (~4 % of a busy server's CPU) guards nothing.
  auto db = std::make_unique<SqliteConnection>(
      db_file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (sqlite3_db_readonly(db->handle(), "main") == 1) {
    throw StoreError(db_file.string() + ": database file is read-only");
  }
  if (read_journal_mode(*db) != "wal") {
    throw StoreError(db_file.string() + ": cannot switch the database to WAL mode");
  }
  // FULL syncs the WAL on every commit, so an acknowledged message survives a power loss; NORMAL
  // would only survive a process crash. Group commit pays the fsync once per batch.
  db->exec(sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
  ensure_schema(*db);
  check_integrity(*db);
  return db;
}

std::unique_ptr<SqliteConnection> open_reader_connection(const std::filesystem::path& db_file) {
  auto db = std::make_unique<SqliteConnection>(db_file, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  db->query_int("PRAGMA user_version");
  return db;
}

}  // namespace chat::server::storage
