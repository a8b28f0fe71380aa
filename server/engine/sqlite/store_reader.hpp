#pragma once
// The reader thread: its own read-only connection (WAL lets it read while the writer commits), a
// queue of reads, each run and reported in order on the reader thread.

#include <filesystem>
#include <memory>
#include <thread>

#include "op_queue.hpp"
#include "read_statements.hpp"
#include "sqlite_connection.hpp"
#include "store_op.hpp"

namespace chat::server::storage {

using ReadOp = StoreOp<ReadStatements>;

class StoreReader {
 public:
  // Opens a read-only connection to a database the writer prepared, and starts the thread.
  explicit StoreReader(const std::filesystem::path& db_file);
  ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  void push(ReadOp op) { queue_.push(std::move(op)); }
  void close() { queue_.close(); }
  void join();
  // Runs reads until the queue is closed and empty; returns how many. The thread's body, and after
  // join() a way to run what callbacks queued after the thread left.
  std::size_t drain();

 private:
  void run_one(ReadOp& op);
  void end_failed_read();

  std::unique_ptr<SqliteConnection> db_;
  ReadStatements statements_;
  OpQueue<ReadOp> queue_;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace chat::server::storage
