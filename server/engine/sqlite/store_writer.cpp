#include "store_writer.hpp"

#include <algorithm>
#include <exception>
#include <string>

#include "store_schema.hpp"

namespace chat::server::storage {

namespace {

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StoreWriter::StoreWriter(const std::filesystem::path& db_file, const StoreOptions& options)
    : db_(open_writer_connection(db_file, options.sync)),
      statements_(*db_),
      retention_(*db_, options),
      begin_(*db_, "BEGIN IMMEDIATE"),
      commit_(*db_, "COMMIT"),
      savepoint_(*db_, "SAVEPOINT op"),
      release_(*db_, "RELEASE op"),
      rollback_to_(*db_, "ROLLBACK TO op"),
      max_batch_ops_(std::max<std::size_t>(options.max_batch_ops, 1)),
      retention_interval_(options.retention_interval),
      next_retention_(retention_.enabled() ? std::chrono::steady_clock::now()
                                           : std::chrono::steady_clock::time_point::max()),
      on_commit_(options.on_commit),
      thread_([this] { run(); }) {}

StoreWriter::~StoreWriter() {
  close();
  join();
}

void StoreWriter::join() {
  if (thread_.joinable()) thread_.join();
}

void StoreWriter::run() {
  for (;;) {
    auto batch = queue_.take(max_batch_ops_, next_retention_);
    if (!batch.empty()) {
      run_batch(batch);
    } else if (queue_.closed()) {
      return;
    }
    run_retention_if_due();
  }
}

std::size_t StoreWriter::drain() {
  std::size_t count = 0;
  for (auto batch = queue_.take(max_batch_ops_); !batch.empty();
       batch = queue_.take(max_batch_ops_)) {
    count += batch.size();
    run_batch(batch);
  }
  return count;
}

void StoreWriter::run_batch(std::vector<WriteOp>& batch) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::function<void()>> reports;
  try {
    reports = apply_all(batch);
  } catch (const std::exception& e) {
    rollback_quietly();
    statements_.forget_sequences();
    failed_batches_.fetch_add(1, std::memory_order_relaxed);
    last_batch_failed_.store(true, std::memory_order_relaxed);
    const std::string error = e.what();
    for (auto& op : batch) op.fail(error);
    return;
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  ops_committed_.fetch_add(batch.size(), std::memory_order_relaxed);
  last_batch_failed_.store(false, std::memory_order_relaxed);
  if (on_commit_) on_commit_(std::chrono::steady_clock::now() - started);
  for (auto& report : reports) report();
}

// The batch in one transaction, committed; the reports to make. Ops rarely fail, so the batch is
// first applied as it is; only when an op throws is it applied again with a savepoint around each
// op, so that the failing one is undone alone (two statements more per op, a tenth of an append).
std::vector<std::function<void()>> StoreWriter::apply_all(std::vector<WriteOp>& batch) {
  std::vector<std::function<void()>> reports;
  reports.reserve(batch.size());
  StatementUse(begin_)->run();
  try {
    for (auto& op : batch) reports.push_back(op.apply(statements_));
  } catch (const std::exception&) {
    reports.clear();
    rollback_quietly();
    statements_.forget_sequences();
    StatementUse(begin_)->run();
    for (auto& op : batch) reports.push_back(apply_one(op));
  }
  StatementUse(commit_)->run();
  return reports;
}

// Called while handling another failure, whose error is the one to report.
void StoreWriter::rollback_quietly() noexcept {
  try {
    if (db_->in_transaction()) db_->exec("ROLLBACK");
  } catch (const std::exception&) {
  }
}

// A failing op is undone alone (rollback to its savepoint) and reported after the commit; when
// SQLite already rolled back the whole transaction (disk full, I/O error) the batch fails.
std::function<void()> StoreWriter::apply_one(WriteOp& op) {
  StatementUse(savepoint_)->run();
  try {
    auto report = op.apply(statements_);
    StatementUse(release_)->run();
    return report;
  } catch (const std::exception& e) {
    if (!db_->in_transaction()) throw;
    StatementUse(rollback_to_)->run();
    StatementUse(release_)->run();
    return [fail = op.fail, error = std::string(e.what())] { fail(error); };
  }
}

void StoreWriter::run_retention_if_due() {
  if (std::chrono::steady_clock::now() < next_retention_) return;
  bool more = false;
  try {
    const auto step = retention_.step(wall_clock_ms());
    retention_deleted_.fetch_add(step.deleted, std::memory_order_relaxed);
    more = step.more;
  } catch (const std::exception&) {
    retention_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  next_retention_ = std::chrono::steady_clock::now() +
                    (more ? std::chrono::milliseconds::zero() : retention_interval_);
}

RetentionResult StoreWriter::run_retention_until_done() {
  RetentionResult result;
  try {
    for (bool more = true; more;) {
      const auto step = retention_.step(wall_clock_ms());
      result.deleted += step.deleted;
      more = step.more;
    }
    result.ok = true;
  } catch (const std::exception& e) {
    retention_failures_.fetch_add(1, std::memory_order_relaxed);
    result.error = e.what();
  }
  retention_deleted_.fetch_add(result.deleted, std::memory_order_relaxed);
  return result;
}

void StoreWriter::enforce_retention_now(std::function<void(RetentionResult)> done) {
  auto callback = std::make_shared<std::function<void(RetentionResult)>>(std::move(done));
  // Retention runs its own transactions, so it runs in the report, after the batch committed.
  auto apply = [this, callback](WriteStatements&) -> std::function<void()> {
    return [this, callback] {
      auto result = run_retention_until_done();
      if (*callback) (*callback)(std::move(result));
    };
  };
  auto fail = [callback](const std::string& error) {
    if (*callback) (*callback)(RetentionResult{.ok = false, .deleted = 0, .error = error});
  };
  push(WriteOp{std::move(apply), std::move(fail)});
}

StoreStats StoreWriter::stats() const {
  return {.commits = commits_.load(std::memory_order_relaxed),
          .ops_committed = ops_committed_.load(std::memory_order_relaxed),
          .failed_batches = failed_batches_.load(std::memory_order_relaxed),
          .retention_deleted = retention_deleted_.load(std::memory_order_relaxed),
          .retention_failures = retention_failures_.load(std::memory_order_relaxed),
          .queued_writes = queue_.size(),
          .last_batch_failed = last_batch_failed_.load(std::memory_order_relaxed),
          .shards = {}};
}

}  // namespace chat::server::storage
