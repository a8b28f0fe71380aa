#include "read_statements.hpp"

#include <algorithm>
#include <limits>

namespace chat::server::storage {

namespace {

constexpr const char* message_columns =
    "SELECT seq, sender, text, server_time_ms, client_msg_id, action, edited, deleted, account, "
    "notice "
    "FROM messages ";

constexpr auto max_sql_seq = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// Sequences above what SQLite's signed integers hold are clamped, so "before 2^64-1" means "all".
std::uint64_t clamp_seq(std::uint64_t seq) { return std::min(seq, max_sql_seq); }

// The part of the asked range below the oldest kept message, if any. For `after` it is the start
// of the range; for `before`/`latest` it matters only once the page reached the oldest message.
std::optional<std::pair<std::uint64_t, std::uint64_t>> gap_of(const HistoryQuery& query,
                                                              const RoomRecord& room,
                                                              bool has_more) {
  if (room.oldest_kept_seq <= 1) return std::nullopt;
  const std::uint64_t lost_top = room.oldest_kept_seq - 1;
  if (query.kind == HistoryQuery::Kind::after) {
    if (query.seq >= lost_top) return std::nullopt;
    return std::pair{query.seq + 1, lost_top};
  }
  if (has_more) return std::nullopt;
  if (query.kind == HistoryQuery::Kind::latest) return std::pair{std::uint64_t{1}, lost_top};
  if (query.seq <= 1) return std::nullopt;
  return std::pair{std::uint64_t{1}, std::min(lost_top, query.seq - 1)};
}

}  // namespace

ReadStatements::ReadStatements(SqliteConnection& db)
    : find_room_(db,
                 "SELECT key, name, topic, last_seq, oldest_kept_seq FROM rooms WHERE key = ?1"),
      all_rooms_(db, "SELECT key, name, topic, last_seq, oldest_kept_seq FROM rooms ORDER BY key"),
      after_(db, std::string(message_columns) +
                     "WHERE room_key = ?1 AND seq > ?2 ORDER BY seq ASC LIMIT ?3"),
      before_(db, std::string(message_columns) +
                      "WHERE room_key = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"),
      recent_ids_(db,
                  "SELECT sender_key, client_msg_id, seq FROM messages "
                  "WHERE room_key = ?1 AND client_msg_id != 0 ORDER BY seq DESC LIMIT ?2"),
      markers_(
          db,
          "SELECT m.room_key, coalesce(r.name, m.room_key), m.seq FROM read_markers m "
          "LEFT JOIN rooms r ON r.key = m.room_key WHERE m.account_key = ?1 ORDER BY m.room_key"),
      account_(db, "SELECT password_hash FROM accounts WHERE nick_key = ?1") {}

HistoryResult ReadStatements::history(const std::string& room_key, const HistoryQuery& query) {
  HistoryResult result;
  result.ok = true;
  const auto room = find_room(room_key);
  if (!room) return result;
  // One row more than asked tells whether more exist in the paging direction.
  const auto rows = static_cast<std::int64_t>(query.limit) + 1;
  switch (query.kind) {
    case HistoryQuery::Kind::after:
      result.messages = page(after_, *room, clamp_seq(query.seq), rows, false);
      break;
    case HistoryQuery::Kind::before:
      result.messages = page(before_, *room, clamp_seq(query.seq), rows, true);
      break;
    case HistoryQuery::Kind::latest:
      result.messages = page(before_, *room, max_sql_seq, rows, true);
      break;
  }
  result.has_more = result.messages.size() > query.limit;
  if (result.has_more) {
    // The extra row is the newest for `after`, the oldest otherwise.
    auto extra = query.kind == HistoryQuery::Kind::after ? result.messages.end() - 1
                                                         : result.messages.begin();
    result.messages.erase(extra);
  }
  result.gap = gap_of(query, *room, result.has_more);
  return result;
}

std::vector<v1::RoomMessage> ReadStatements::page(SqliteStatement& statement,
                                                  const RoomRecord& room, std::uint64_t seq,
                                                  std::int64_t rows, bool descending) {
  StatementUse use(statement);
  use->bind_text(1, room.key).bind_uint(2, seq).bind_int(3, rows);
  std::vector<v1::RoomMessage> messages;
  while (use->step()) {
    auto& message = messages.emplace_back();
    message.set_room(room.name);
    message.set_seq(use->uint64(0));
    message.set_from(use->text(1));
    message.set_text(use->text(2));
    message.set_server_time_ms(use->int64(3));
    message.set_client_msg_id(use->uint64(4));
    message.set_action(use->boolean(5));
    message.set_edited(use->boolean(6));
    message.set_deleted(use->boolean(7));
    message.set_account(use->boolean(8));
    message.set_notice(use->boolean(9));
  }
  if (descending) std::reverse(messages.begin(), messages.end());
  return messages;
}

std::optional<RoomRecord> ReadStatements::find_room(const std::string& room_key) {
  StatementUse use(find_room_);
  use->bind_text(1, room_key);
  if (!use->step()) return std::nullopt;
  return RoomRecord{use->text(0), use->text(1), use->text(2), use->uint64(3), use->uint64(4)};
}

std::vector<RoomRecord> ReadStatements::load_rooms() {
  StatementUse use(all_rooms_);
  std::vector<RoomRecord> rooms;
  while (use->step()) {
    rooms.push_back({use->text(0), use->text(1), use->text(2), use->uint64(3), use->uint64(4)});
  }
  return rooms;
}

std::vector<v1::RoomMessage> ReadStatements::load_recent(const std::string& room_key,
                                                         std::uint32_t count) {
  const auto room = find_room(room_key);
  if (!room) return {};
  return page(before_, *room, max_sql_seq, count, true);
}

std::vector<DedupEntry> ReadStatements::load_recent_ids(const std::string& room_key,
                                                        std::uint32_t count) {
  StatementUse use(recent_ids_);
  use->bind_text(1, room_key).bind_int(2, count);
  std::vector<DedupEntry> entries;
  while (use->step()) entries.push_back({use->text(0), use->uint64(1), use->uint64(2)});
  std::reverse(entries.begin(), entries.end());
  return entries;
}

ReadMarkersResult ReadStatements::read_markers(const std::string& account_key) {
  StatementUse use(markers_);
  use->bind_text(1, account_key);
  ReadMarkersResult result;
  result.ok = true;
  while (use->step()) result.markers.push_back({use->text(0), use->text(1), use->uint64(2)});
  return result;
}

FindAccountResult ReadStatements::find_account(const std::string& nick_key) {
  StatementUse use(account_);
  use->bind_text(1, nick_key);
  FindAccountResult result;
  result.ok = true;
  if (use->step()) result.password_hash = use->text(0);
  return result;
}

}  // namespace chat::server::storage
