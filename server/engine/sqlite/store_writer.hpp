#pragma once
// The writer thread: takes every queued write at once (up to max_batch_ops), applies them in one
// transaction, commits (one fsync), and only then reports each result, in queue order. Between
// batches it runs retention in short transactions of its own.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "op_queue.hpp"
#include "retention.hpp"
#include "sqlite_connection.hpp"
#include "sqlite_statement.hpp"
#include "store_op.hpp"
#include "store_types.hpp"
#include "write_statements.hpp"

namespace chat::server::storage {

using WriteOp = StoreOp<WriteStatements>;

class StoreWriter {
 public:
  // Opens the database (see open_writer_connection) and starts the thread. Throws StoreError.
  StoreWriter(const std::filesystem::path& db_file, const StoreOptions& options);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void push(WriteOp op) { queue_.push(std::move(op)); }
  // After the writes queued before it committed, runs retention until nothing is due, then calls
  // done (on the writer thread).
  void enforce_retention_now(std::function<void(RetentionResult)> done);

  // Lets the thread finish the queue and leave; join() waits for it.
  void close() { queue_.close(); }
  void join();
  // After join(): runs writes that callbacks queued after the thread left; returns how many.
  std::size_t drain();

  StoreStats stats() const;

 private:
  void run();
  void run_batch(std::vector<WriteOp>& batch);
  std::vector<std::function<void()>> apply_all(std::vector<WriteOp>& batch);
  std::function<void()> apply_one(WriteOp& op);
  void rollback_quietly() noexcept;
  void run_retention_if_due();
  RetentionResult run_retention_until_done();

  std::unique_ptr<SqliteConnection> db_;
  WriteStatements statements_;
  Retention retention_;
  SqliteStatement begin_;
  SqliteStatement commit_;
  SqliteStatement savepoint_;
  SqliteStatement release_;
  SqliteStatement rollback_to_;
  std::size_t max_batch_ops_;
  std::chrono::milliseconds retention_interval_;
  std::chrono::steady_clock::time_point next_retention_;
  OpQueue<WriteOp> queue_;
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> ops_committed_{0};
  std::atomic<std::uint64_t> failed_batches_{0};
  std::atomic<std::uint64_t> retention_deleted_{0};
  std::atomic<std::uint64_t> retention_failures_{0};
  std::atomic<bool> last_batch_failed_{false};
  std::function<void(std::chrono::nanoseconds)> on_commit_;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace chat::server::storage
