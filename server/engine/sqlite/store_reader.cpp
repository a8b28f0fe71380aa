#include "store_reader.hpp"

#include <exception>
#include <functional>
#include <string>

#include "store_schema.hpp"

namespace chat::server::storage {

namespace {

constexpr std::size_t reads_per_take = 64;

}  // namespace

StoreReader::StoreReader(const std::filesystem::path& db_file)
    : db_(open_reader_connection(db_file)), statements_(*db_), thread_([this] { drain(); }) {}

StoreReader::~StoreReader() {
  close();
  join();
}

void StoreReader::join() {
  if (thread_.joinable()) thread_.join();
}

std::size_t StoreReader::drain() {
  std::size_t count = 0;
  for (auto batch = queue_.take(reads_per_take); !batch.empty();
       batch = queue_.take(reads_per_take)) {
    count += batch.size();
    for (auto& op : batch) run_one(op);
  }
  return count;
}

// Each request reads in one transaction, so from one snapshot: a room's row and its messages agree
// even when retention commits between the two statements. The report runs outside the try: a
// throwing callback must not be reported a second time.
void StoreReader::run_one(ReadOp& op) {
  std::function<void()> report;
  try {
    if (db_->in_transaction()) db_->exec("ROLLBACK");  // left open by a read that failed
    db_->exec("BEGIN");
    report = op.apply(statements_);
    db_->exec("COMMIT");
  } catch (const std::exception& e) {
    end_failed_read();
    op.fail(e.what());
    return;
  }
  report();
}

// An idle reader must not hold a snapshot (it would keep the WAL from being checkpointed).
void StoreReader::end_failed_read() {
  try {
    if (db_->in_transaction()) db_->exec("ROLLBACK");
  } catch (const std::exception&) {
    // Rolled back with the next read instead.
  }
}

}  // namespace chat::server::storage
