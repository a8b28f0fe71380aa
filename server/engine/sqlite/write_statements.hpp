#pragma once
// The writer's prepared statements and the write operations built on them. Each method runs inside
// the writer's batch transaction (under a savepoint), so it only has to be correct, not atomic.

#include <cstdint>
#include <string>
#include <unordered_map>

#include "chat.pb.h"
#include "sqlite_connection.hpp"
#include "sqlite_statement.hpp"
#include "store_types.hpp"

namespace chat::server::storage {

class WriteStatements {
 public:
  explicit WriteStatements(SqliteConnection& db);

  // Stores the message under the room's next sequence (at least message.seq()); a duplicate
  // client_msg_id stores nothing and takes no sequence.
  AppendResult append(const v1::RoomMessage& message, const std::string& room_key,
                      const std::string& sender_key);
  // The batch was rolled back: sequences read since are not to be trusted.
  void forget_sequences() { last_seq_.clear(); }
  WriteResult set_topic(const std::string& room_key, const std::string& room_name,
                        const std::string& topic);
  EditResult edit(const std::string& room_key, std::uint64_t seq, const std::string& sender_key,
                  const std::string& new_text, std::int64_t now_ms);
  EditResult remove(const std::string& room_key, std::uint64_t seq, const std::string& sender_key);
  WriteResult mark_read(const std::string& account_key, const std::string& room_key,
                        std::uint64_t seq);
  CreateAccountResult create_account(const std::string& nick_key, const std::string& nick,
                                     const std::string& password_hash, std::int64_t now_ms);
  // A one-row write that /readyz commits to prove the disk takes writes.
  WriteResult touch_health(std::int64_t now_ms);

 private:
  // not_found or forbidden when the message is missing, deleted, or someone else's; ok otherwise.
  std::uint64_t last_seq(const std::string& room_key);
  EditResult::Status check_owner(const std::string& room_key, std::uint64_t seq,
                                 const std::string& sender_key, bool allow_deleted);

  SqliteConnection& db_;
  SqliteStatement find_client_id_;
  SqliteStatement insert_message_;
  SqliteStatement upsert_room_seq_;
  SqliteStatement upsert_room_topic_;
  SqliteStatement find_owner_;
  SqliteStatement insert_edit_;
  SqliteStatement update_text_;
  SqliteStatement mark_deleted_;
  SqliteStatement delete_edits_;
  SqliteStatement upsert_marker_;
  SqliteStatement insert_account_;
  SqliteStatement touch_health_;
  SqliteStatement find_room_seq_;
  // The rooms' last sequences as this transaction wrote them (read from rooms.last_seq once).
  std::unordered_map<std::string, std::uint64_t> last_seq_;
};

}  // namespace chat::server::storage
