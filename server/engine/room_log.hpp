#pragma once
// The seam between the server and where its history and accounts live (DESIGN.md, "the engine").
// The server's home shards keep recent messages in memory and ask a RoomLog for everything that
// must survive a restart: messages (acknowledged only once durable), topics, edits, read markers
// and accounts. Engines: SqliteStore (embedded) and RedisEngine (cluster mode).
//
// Every call returns at once; its callback runs later on one of the engine's threads, so a caller
// posts back to its own thread. Callbacks must not throw.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "chat.pb.h"
#include "store_types.hpp"

namespace chat::server {

class RoomLog {
 public:
  virtual ~RoomLog() = default;

  // Gives a message its sequence and stores it: the next one in the room, and at least
  // message.seq (the caller passes one above the highest it has seen; the store may have lost
  // count). A (room_key, sender_key, client_msg_id) stored before stores nothing, uses up no
  // sequence and answers duplicate with the original sequence; a failed append uses none either.
  virtual void append(v1::RoomMessage message, std::string room_key, std::string sender_key,
                      std::function<void(storage::AppendResult)> done) = 0;
  virtual void set_topic(std::string room_key, std::string room_name, std::string topic,
                         std::function<void(storage::WriteResult)> done) = 0;
  virtual void edit(std::string room_key, std::uint64_t seq, std::string sender_key,
                    std::string new_text, std::int64_t now_ms,
                    std::function<void(storage::EditResult)> done) = 0;
  virtual void remove(std::string room_key, std::uint64_t seq, std::string sender_key,
                      std::function<void(storage::EditResult)> done) = 0;
  virtual void mark_read(std::string account_key, std::string room_key, std::uint64_t seq,
                         std::function<void(storage::WriteResult)> done) = 0;
  virtual void create_account(std::string nick_key, std::string nick, std::string password_hash,
                              std::function<void(storage::CreateAccountResult)> done) = 0;

  virtual void history(std::string room_key, storage::HistoryQuery query,
                       std::function<void(storage::HistoryResult)> done) = 0;
  virtual void read_markers(std::string account_key,
                            std::function<void(storage::ReadMarkersResult)> done) = 0;
  virtual void find_account(std::string nick_key,
                            std::function<void(storage::FindAccountResult)> done) = 0;

  // Commits a tiny write after the writes queued before it: ok when the store takes writes.
  virtual void check_writable(std::function<void(storage::WriteResult)> done) = 0;
  virtual storage::StoreStats stats() const = 0;
  // Whether a message a node has delivered is as safe as an acknowledged one, so that a retry of
  // it may be acknowledged from memory. Not when an acknowledgement waits for more than the
  // delivery does (a Redis replica): the retry goes to the engine, which checks again.
  virtual bool delivered_is_acknowledged() const { return true; }

  // Start-up: block until answered.
  virtual std::vector<storage::RoomRecord> load_rooms() = 0;
  virtual std::vector<v1::RoomMessage> load_recent(const std::string& room_key,
                                                   std::uint32_t count) = 0;
};

}  // namespace chat::server
