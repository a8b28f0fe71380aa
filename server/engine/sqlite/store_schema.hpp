#pragma once
// Opening the database file: pragmas, schema creation and version check, integrity check.

#include <filesystem>
#include <memory>

#include "sqlite_connection.hpp"

namespace chat::server::storage {

inline constexpr int schema_version = 2;

// Opens (creating when missing) the database for writing: WAL, synchronous=FULL (OFF without
// sync), schema at schema_version, quick_check passed. Throws StoreError naming the file and the
// cause.
std::unique_ptr<SqliteConnection> open_writer_connection(const std::filesystem::path& db_file,
                                                         bool sync = true);

// Opens a read-only connection to a database that open_writer_connection prepared.
std::unique_ptr<SqliteConnection> open_reader_connection(const std::filesystem::path& db_file);

}  // namespace chat::server::storage
