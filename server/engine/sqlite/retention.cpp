#include "retention.hpp"

#include <algorithm>
#include <limits>

namespace chat::server::storage {

Retention::Retention(SqliteConnection& db, const StoreOptions& options)
    : db_(db),
      options_(options),
      // A room is a candidate when it holds more than the count limit or its oldest kept message
      // is older than the cutoff (?1; the largest integer when age is unlimited).
      rooms_(db,
             "SELECT key, last_seq, oldest_kept_seq FROM rooms r "
             "WHERE (?2 > 0 AND last_seq - oldest_kept_seq + 1 > ?2) OR "
             "(SELECT server_time_ms FROM messages m WHERE m.room_key = r.key "
             " ORDER BY seq LIMIT 1) < ?1"),
      first_young_(db,
                   "SELECT seq FROM messages WHERE room_key = ?1 AND seq >= ?2 AND seq < ?3 "
                   "AND server_time_ms >= ?4 ORDER BY seq LIMIT 1"),
      delete_messages_(db, "DELETE FROM messages WHERE room_key = ?1 AND seq < ?2"),
      delete_edits_(db, "DELETE FROM message_edits WHERE room_key = ?1 AND seq < ?2"),
      advance_oldest_(db, "UPDATE rooms SET oldest_kept_seq = ?2 WHERE key = ?1") {}

bool Retention::enabled() const {
  return options_.max_messages_per_room > 0 || options_.max_age.count() > 0;
}

Retention::Step Retention::step(std::int64_t now_ms) {
  const std::int64_t cutoff_ms = options_.max_age.count() > 0
                                     ? now_ms - options_.max_age.count() * 1000
                                     : std::numeric_limits<std::int64_t>::min();
  Step step;
  std::uint64_t budget = std::max<std::uint32_t>(options_.retention_batch, 1);
  db_.exec("BEGIN IMMEDIATE");
  try {
    for (const auto& room : rooms_over_limits(cutoff_ms)) {
      if (budget == 0) {
        step.more = true;
        break;
      }
      const auto oldest = new_oldest(room, cutoff_ms, budget);
      if (oldest <= room.oldest_kept_seq) continue;
      step.deleted += trim(room, oldest);
      budget -= oldest - room.oldest_kept_seq;
      step.more = step.more || budget == 0;
    }
    db_.exec("COMMIT");
  } catch (...) {
    if (db_.in_transaction()) db_.exec("ROLLBACK");
    throw;
  }
  return step;
}

std::vector<Retention::RoomState> Retention::rooms_over_limits(std::int64_t cutoff_ms) {
  StatementUse use(rooms_);
  use->bind_int(1, cutoff_ms).bind_uint(2, options_.max_messages_per_room);
  std::vector<RoomState> rooms;
  while (use->step()) rooms.push_back({use->text(0), use->uint64(1), use->uint64(2)});
  return rooms;
}

std::uint64_t Retention::new_oldest(const RoomState& room, std::int64_t cutoff_ms,
                                    std::uint64_t budget) {
  const std::uint64_t limit = std::min(room.oldest_kept_seq + budget, room.last_seq + 1);
  std::uint64_t target = room.oldest_kept_seq;
  const auto max_count = options_.max_messages_per_room;
  if (max_count > 0 && room.last_seq > max_count) target = room.last_seq - max_count + 1;
  if (options_.max_age.count() > 0) {
    // Everything below the first young message within the budget window goes.
    StatementUse use(first_young_);
    use->bind_text(1, room.key).bind_uint(2, room.oldest_kept_seq).bind_uint(3, limit);
    use->bind_int(4, cutoff_ms);
    target = std::max(target, use->step() ? use->uint64(0) : limit);
  }
  return std::min(target, limit);
}

std::uint64_t Retention::trim(const RoomState& room, std::uint64_t new_oldest) {
  std::uint64_t deleted = 0;
  {
    StatementUse use(delete_messages_);
    use->bind_text(1, room.key).bind_uint(2, new_oldest).run();
    deleted = static_cast<std::uint64_t>(db_.changes());
  }
  {
    StatementUse use(delete_edits_);
    use->bind_text(1, room.key).bind_uint(2, new_oldest).run();
  }
  StatementUse use(advance_oldest_);
  use->bind_text(1, room.key).bind_uint(2, new_oldest).run();
  return deleted;
}

}  // namespace chat::server::storage
