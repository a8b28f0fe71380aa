#include "sqlite_store.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <system_error>
#include <utility>

#include "store_reader.hpp"
#include "store_writer.hpp"

namespace chat::server::storage {

std::unique_ptr<SqliteStore> SqliteStore::open(const std::filesystem::path& data_dir,
                                               StoreOptions options) {
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    throw StoreError(data_dir.string() + ": cannot create data directory: " + error.message());
  }
  if (!std::filesystem::is_directory(data_dir, error)) {
    throw StoreError(data_dir.string() + ": data directory is not a directory");
  }
  // SQLite reports a directory it may not write to as a confusing "No such file or directory".
  if (::access(data_dir.c_str(), W_OK | X_OK) != 0) {
    throw StoreError(data_dir.string() +
                     ": data directory is not writable: " + std::generic_category().message(errno));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(data_dir / "chat.db", options));
}

SqliteStore::SqliteStore(std::filesystem::path db_file, const StoreOptions& options)
    : db_file_(std::move(db_file)),
      writer_(std::make_unique<StoreWriter>(db_file_, options)),
      reader_(std::make_unique<StoreReader>(db_file_)) {}

SqliteStore::~SqliteStore() {
  writer_->close();
  reader_->close();
  writer_->join();
  reader_->join();
  // A callback may have queued work for a thread that had already left: run it here.
  while (writer_->drain() + reader_->drain() > 0) {
  }
}

void SqliteStore::append(v1::RoomMessage message, std::string room_key, std::string sender_key,
                         std::function<void(AppendResult)> done) {
  auto work = [message = std::move(message), room_key = std::move(room_key),
               sender_key = std::move(sender_key)](WriteStatements& statements) {
    return statements.append(message, room_key, sender_key);
  };
  writer_->push(make_store_op<AppendResult, WriteStatements>(std::move(work), std::move(done)));
}

void SqliteStore::set_topic(std::string room_key, std::string room_name, std::string topic,
                            std::function<void(WriteResult)> done) {
  auto work = [room_key = std::move(room_key), room_name = std::move(room_name),
               topic = std::move(topic)](WriteStatements& statements) {
    return statements.set_topic(room_key, room_name, topic);
  };
  writer_->push(make_store_op<WriteResult, WriteStatements>(std::move(work), std::move(done)));
}

void SqliteStore::edit(std::string room_key, std::uint64_t seq, std::string sender_key,
                       std::string new_text, std::int64_t now_ms,
                       std::function<void(EditResult)> done) {
  auto work = [room_key = std::move(room_key), seq, sender_key = std::move(sender_key),
               new_text = std::move(new_text), now_ms](WriteStatements& statements) {
    return statements.edit(room_key, seq, sender_key, new_text, now_ms);
  };
  writer_->push(make_store_op<EditResult, WriteStatements>(std::move(work), std::move(done)));
}

void SqliteStore::remove(std::string room_key, std::uint64_t seq, std::string sender_key,
                         std::function<void(EditResult)> done) {
  auto work = [room_key = std::move(room_key), seq,
               sender_key = std::move(sender_key)](WriteStatements& statements) {
    return statements.remove(room_key, seq, sender_key);
  };
  writer_->push(make_store_op<EditResult, WriteStatements>(std::move(work), std::move(done)));
}

void SqliteStore::mark_read(std::string account_key, std::string room_key, std::uint64_t seq,
                            std::function<void(WriteResult)> done) {
  auto work = [account_key = std::move(account_key), room_key = std::move(room_key),
               seq](WriteStatements& statements) {
    return statements.mark_read(account_key, room_key, seq);
  };
  writer_->push(make_store_op<WriteResult, WriteStatements>(std::move(work), std::move(done)));
}

void SqliteStore::create_account(std::string nick_key, std::string nick, std::string password_hash,
                                 std::function<void(CreateAccountResult)> done) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto work = [nick_key = std::move(nick_key), nick = std::move(nick),
               password_hash = std::move(password_hash), now_ms](WriteStatements& statements) {
    return statements.create_account(nick_key, nick, password_hash, now_ms);
  };
  writer_->push(
      make_store_op<CreateAccountResult, WriteStatements>(std::move(work), std::move(done)));
}

void SqliteStore::enforce_retention_now(std::function<void(RetentionResult)> done) {
  writer_->enforce_retention_now(std::move(done));
}

void SqliteStore::history(std::string room_key, HistoryQuery query,
                          std::function<void(HistoryResult)> done) {
  auto work = [room_key = std::move(room_key), query](ReadStatements& statements) {
    return statements.history(room_key, query);
  };
  reader_->push(make_store_op<HistoryResult, ReadStatements>(std::move(work), std::move(done)));
}

void SqliteStore::read_markers(std::string account_key,
                               std::function<void(ReadMarkersResult)> done) {
  auto work = [account_key = std::move(account_key)](ReadStatements& statements) {
    return statements.read_markers(account_key);
  };
  reader_->push(make_store_op<ReadMarkersResult, ReadStatements>(std::move(work), std::move(done)));
}

void SqliteStore::find_account(std::string nick_key, std::function<void(FindAccountResult)> done) {
  auto work = [nick_key = std::move(nick_key)](ReadStatements& statements) {
    return statements.find_account(nick_key);
  };
  reader_->push(make_store_op<FindAccountResult, ReadStatements>(std::move(work), std::move(done)));
}

template <typename Result, typename Work>
Result SqliteStore::read_now(Work work) {
  std::promise<Result> promise;
  auto answer = promise.get_future();
  auto apply = [&promise, work = std::move(work)](ReadStatements& statements) {
    promise.set_value(work(statements));
    return std::function<void()>([] {});
  };
  auto fail = [&promise](const std::string& error) {
    promise.set_exception(std::make_exception_ptr(StoreError(error)));
  };
  reader_->push(ReadOp{std::move(apply), std::move(fail)});
  return answer.get();
}

std::vector<RoomRecord> SqliteStore::load_rooms() {
  return read_now<std::vector<RoomRecord>>(
      [](ReadStatements& statements) { return statements.load_rooms(); });
}

std::vector<v1::RoomMessage> SqliteStore::load_recent(const std::string& room_key,
                                                      std::uint32_t count) {
  return read_now<std::vector<v1::RoomMessage>>(
      [&](ReadStatements& statements) { return statements.load_recent(room_key, count); });
}

std::vector<DedupEntry> SqliteStore::load_recent_ids(const std::string& room_key,
                                                     std::uint32_t count) {
  return read_now<std::vector<DedupEntry>>(
      [&](ReadStatements& statements) { return statements.load_recent_ids(room_key, count); });
}

void SqliteStore::check_writable(std::function<void(WriteResult)> done) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto work = [now_ms](WriteStatements& statements) { return statements.touch_health(now_ms); };
  writer_->push(make_store_op<WriteResult, WriteStatements>(std::move(work), std::move(done)));
}

StoreStats SqliteStore::stats() const { return writer_->stats(); }

}  // namespace chat::server::storage
