#pragma once
// The durable chat history: rooms, messages (with edits and deletions), read markers and accounts
// in one SQLite file, <data_dir>/chat.db.
//
// Writes are queued to a writer thread that commits everything queued in one transaction (group
// commit, synchronous=FULL) and then calls each callback on the writer thread: a callback saying
// ok means the change is on disk. Reads are queued to a reader thread with its own connection and
// called back there; they see what was committed when they run (a read issued after a write's
// callback sees that write). No call blocks on I/O except open() and the load_* start-up calls.
// Callbacks must not throw. The destructor finishes everything queued, calling every callback.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chat.pb.h"
#include "room_log.hpp"
#include "store_types.hpp"

namespace chat::server::storage {

class StoreReader;
class StoreWriter;

class SqliteStore final : public RoomLog {
 public:
  // Creates data_dir when missing, opens or creates the database, checks its schema version and
  // integrity. Throws StoreError whose message names the path and the cause.
  static std::unique_ptr<SqliteStore> open(const std::filesystem::path& data_dir,
                                           StoreOptions options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Stores a sequenced message (message.room is the room's display name) and raises the room's
  // last_seq. A non-zero client_msg_id already stored for (room_key, sender_key) stores nothing and
  // reports duplicate with the original seq.
  void append(v1::RoomMessage message, std::string room_key, std::string sender_key,
              std::function<void(AppendResult)> done) override;
  void set_topic(std::string room_key, std::string room_name, std::string topic,
                 std::function<void(WriteResult)> done) override;
  // Only the original sender may edit; the old text is kept in message_edits. Deleted or unknown
  // messages are not_found.
  void edit(std::string room_key, std::uint64_t seq, std::string sender_key, std::string new_text,
            std::int64_t now_ms, std::function<void(EditResult)> done) override;
  // Only the original sender may delete; the text and its edit history are erased, the row stays
  // (deleted = true). Deleting again is ok.
  void remove(std::string room_key, std::uint64_t seq, std::string sender_key,
              std::function<void(EditResult)> done) override;
  // Keeps the highest seq marked per (account, room).
  void mark_read(std::string account_key, std::string room_key, std::uint64_t seq,
                 std::function<void(WriteResult)> done) override;
  void create_account(std::string nick_key, std::string nick, std::string password_hash,
                      std::function<void(CreateAccountResult)> done) override;
  // Once the writes queued before it committed, applies retention until nothing is due.
  void enforce_retention_now(std::function<void(RetentionResult)> done);

  void history(std::string room_key, HistoryQuery query,
               std::function<void(HistoryResult)> done) override;
  // Room keys with their display names, ordered by key.
  void read_markers(std::string account_key, std::function<void(ReadMarkersResult)> done) override;
  void find_account(std::string nick_key, std::function<void(FindAccountResult)> done) override;

  // Start-up reads: block until answered; throw StoreError.
  std::vector<RoomRecord> load_rooms() override;
  // The newest count messages of a room, ascending.
  std::vector<v1::RoomMessage> load_recent(const std::string& room_key,
                                           std::uint32_t count) override;
  // The newest count messages that carry a client_msg_id, ascending, to rebuild a de-dup index.
  std::vector<DedupEntry> load_recent_ids(const std::string& room_key, std::uint32_t count);

  void check_writable(std::function<void(WriteResult)> done) override;
  StoreStats stats() const override;
  const std::filesystem::path& db_file() const { return db_file_; }

 private:
  SqliteStore(std::filesystem::path db_file, const StoreOptions& options);
  template <typename Result, typename Work>
  Result read_now(Work work);

  std::filesystem::path db_file_;
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<StoreReader> reader_;
};

}  // namespace chat::server::storage
