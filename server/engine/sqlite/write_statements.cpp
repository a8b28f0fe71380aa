#include "write_statements.hpp"

#include <algorithm>

namespace chat::server::storage {

WriteStatements::WriteStatements(SqliteConnection& db)
    : db_(db),
      find_client_id_(db,
                      "SELECT seq FROM messages WHERE room_key = ?1 AND sender_key = ?2 "
                      "AND client_msg_id = ?3 AND client_msg_id != 0"),
      insert_message_(
          db,
          "INSERT INTO messages(room_key, seq, sender_key, sender, text, server_time_ms, "
          "client_msg_id, action, account, notice) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
      upsert_room_seq_(db,
                       "INSERT INTO rooms(key, name, last_seq) VALUES(?1, ?2, ?3) "
                       "ON CONFLICT(key) DO UPDATE SET name = excluded.name, "
                       "last_seq = max(last_seq, excluded.last_seq)"),
      upsert_room_topic_(
          db,
          "INSERT INTO rooms(key, name, topic) VALUES(?1, ?2, ?3) "
          "ON CONFLICT(key) DO UPDATE SET name = excluded.name, topic = excluded.topic"),
      find_owner_(db, "SELECT sender_key, deleted FROM messages WHERE room_key = ?1 AND seq = ?2"),
      insert_edit_(db,
                   "INSERT INTO message_edits(room_key, seq, old_text, edited_at_ms) "
                   "SELECT room_key, seq, text, ?3 FROM messages WHERE room_key = ?1 AND seq = ?2"),
      update_text_(db,
                   "UPDATE messages SET text = ?3, edited = 1 WHERE room_key = ?1 AND seq = ?2"),
      mark_deleted_(db,
                    "UPDATE messages SET text = '', deleted = 1 WHERE room_key = ?1 AND seq = ?2"),
      delete_edits_(db, "DELETE FROM message_edits WHERE room_key = ?1 AND seq = ?2"),
      upsert_marker_(
          db,
          "INSERT INTO read_markers(account_key, room_key, seq) VALUES(?1, ?2, ?3) "
          "ON CONFLICT(account_key, room_key) DO UPDATE SET seq = max(seq, excluded.seq)"),
      insert_account_(db,
                      "INSERT INTO accounts(nick_key, nick, password_hash, created_ms) "
                      "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(nick_key) DO NOTHING"),
      touch_health_(db, "INSERT OR REPLACE INTO health(id, checked_at_ms) VALUES(1, ?1)"),
      find_room_seq_(db, "SELECT last_seq FROM rooms WHERE key = ?1") {}

std::uint64_t WriteStatements::last_seq(const std::string& room_key) {
  if (auto it = last_seq_.find(room_key); it != last_seq_.end()) return it->second;
  StatementUse find(find_room_seq_);
  find->bind_text(1, room_key);
  const std::uint64_t seq = find->step() ? find->uint64(0) : 0;
  last_seq_.emplace(room_key, seq);
  return seq;
}

WriteResult WriteStatements::touch_health(std::int64_t now_ms) {
  StatementUse touch(touch_health_);
  touch->bind_int(1, now_ms).run();
  return {.ok = true, .error = {}};
}

AppendResult WriteStatements::append(const v1::RoomMessage& message, const std::string& room_key,
                                     const std::string& sender_key) {
  if (message.client_msg_id() != 0) {
    StatementUse find(find_client_id_);
    find->bind_text(1, room_key).bind_text(2, sender_key).bind_uint(3, message.client_msg_id());
    if (find->step()) return {.ok = true, .duplicate = true, .seq = find->uint64(0), .error = {}};
  }
  const std::uint64_t seq = std::max(last_seq(room_key) + 1, message.seq());
  {
    StatementUse insert(insert_message_);
    insert->bind_text(1, room_key).bind_uint(2, seq).bind_text(3, sender_key);
    insert->bind_text(4, message.from()).bind_text(5, message.text());
    insert->bind_int(6, message.server_time_ms()).bind_uint(7, message.client_msg_id());
    insert->bind_int(8, message.action() ? 1 : 0)
        .bind_int(9, message.account() ? 1 : 0)
        .bind_int(10, message.notice() ? 1 : 0)
        .run();
  }
  StatementUse room(upsert_room_seq_);
  room->bind_text(1, room_key).bind_text(2, message.room()).bind_uint(3, seq).run();
  last_seq_[room_key] = seq;
  return {.ok = true, .duplicate = false, .seq = seq, .error = {}};
}

WriteResult WriteStatements::set_topic(const std::string& room_key, const std::string& room_name,
                                       const std::string& topic) {
  StatementUse upsert(upsert_room_topic_);
  upsert->bind_text(1, room_key).bind_text(2, room_name).bind_text(3, topic).run();
  return {.ok = true, .error = {}};
}

EditResult::Status WriteStatements::check_owner(const std::string& room_key, std::uint64_t seq,
                                                const std::string& sender_key, bool allow_deleted) {
  StatementUse find(find_owner_);
  find->bind_text(1, room_key).bind_uint(2, seq);
  if (!find->step()) return EditResult::Status::not_found;
  if (find->boolean(1) && !allow_deleted) return EditResult::Status::not_found;
  if (find->text(0) != sender_key) return EditResult::Status::forbidden;
  return EditResult::Status::ok;
}

EditResult WriteStatements::edit(const std::string& room_key, std::uint64_t seq,
                                 const std::string& sender_key, const std::string& new_text,
                                 std::int64_t now_ms) {
  const auto status = check_owner(room_key, seq, sender_key, false);
  if (status != EditResult::Status::ok) return {.status = status, .error = {}};
  {
    StatementUse keep_old(insert_edit_);
    keep_old->bind_text(1, room_key).bind_uint(2, seq).bind_int(3, now_ms).run();
  }
  StatementUse update(update_text_);
  update->bind_text(1, room_key).bind_uint(2, seq).bind_text(3, new_text).run();
  return {.status = EditResult::Status::ok, .error = {}};
}

// Deleting twice succeeds, so a retried Delete is harmless; the old texts go with the message.
EditResult WriteStatements::remove(const std::string& room_key, std::uint64_t seq,
                                   const std::string& sender_key) {
  const auto status = check_owner(room_key, seq, sender_key, true);
  if (status != EditResult::Status::ok) return {.status = status, .error = {}};
  {
    StatementUse mark(mark_deleted_);
    mark->bind_text(1, room_key).bind_uint(2, seq).run();
  }
  StatementUse edits(delete_edits_);
  edits->bind_text(1, room_key).bind_uint(2, seq).run();
  return {.status = EditResult::Status::ok, .error = {}};
}

WriteResult WriteStatements::mark_read(const std::string& account_key, const std::string& room_key,
                                       std::uint64_t seq) {
  StatementUse upsert(upsert_marker_);
  upsert->bind_text(1, account_key).bind_text(2, room_key).bind_uint(3, seq).run();
  return {.ok = true, .error = {}};
}

CreateAccountResult WriteStatements::create_account(const std::string& nick_key,
                                                    const std::string& nick,
                                                    const std::string& password_hash,
                                                    std::int64_t now_ms) {
  StatementUse insert(insert_account_);
  insert->bind_text(1, nick_key).bind_text(2, nick).bind_text(3, password_hash);
  insert->bind_int(4, now_ms).run();
  const bool created = db_.changes() == 1;
  return {.status =
              created ? CreateAccountResult::Status::created : CreateAccountResult::Status::exists,
          .error = {}};
}

}  // namespace chat::server::storage
