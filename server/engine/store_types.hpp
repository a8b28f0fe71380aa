#pragma once
// Options, errors and results of the durable store. A default-constructed result means "failed":
// a callback whose operation could not be stored receives one with only `error` set.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "chat.pb.h"

namespace chat::server::storage {

// The store cannot be opened or used; what() is one line naming the path and the cause.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct StoreOptions {
  std::uint64_t max_messages_per_room = 0;  // 0 = unlimited
  std::chrono::seconds max_age{0};          // 0 = unlimited
  std::uint32_t retention_batch = 1000;     // most rows one retention transaction deletes
  std::chrono::milliseconds retention_interval{1000};
  std::size_t max_batch_ops = 4096;  // most operations one group commit takes
  // fsync every group commit (synchronous=FULL). Off only for throwaway stores (tests, and
  // benchmarks of everything but the disk).
  bool sync = true;
  // Called on the writer thread after each group commit with how long it took (metrics).
  std::function<void(std::chrono::nanoseconds)> on_commit{};
};

struct AppendResult {
  bool ok = false;
  bool duplicate = false;  // the client_msg_id was stored before; seq is the original one
  std::uint64_t seq = 0;
  std::string error;
};

struct HistoryQuery {
  enum class Kind { after, before, latest };
  Kind kind = Kind::latest;
  std::uint64_t seq = 0;  // ignored for latest
  std::uint32_t limit = 50;
};

struct HistoryResult {
  bool ok = false;
  std::vector<v1::RoomMessage> messages;  // ascending seq
  // Part of the asked range that retention removed (inclusive); nothing older is kept.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> gap;
  bool has_more = false;  // more kept messages exist in the paging direction
  std::string error;
};

struct EditResult {
  enum class Status { failed, ok, not_found, forbidden };
  Status status = Status::failed;
  std::string error;
};

struct WriteResult {
  bool ok = false;
  std::string error;
};

struct CreateAccountResult {
  enum class Status { failed, created, exists };
  Status status = Status::failed;
  std::string error;
};

struct FindAccountResult {
  bool ok = false;
  std::optional<std::string> password_hash;  // empty: no such account
  std::string error;
};

struct ReadMarker {
  std::string room_key;
  std::string room;  // the room's display name (the key when the room has no row)
  std::uint64_t seq = 0;
};

struct ReadMarkersResult {
  bool ok = false;
  std::vector<ReadMarker> markers;  // ordered by room key
  std::string error;
};

struct RetentionResult {
  bool ok = false;
  std::uint64_t deleted = 0;
  std::string error;
};

struct RoomRecord {
  std::string key;
  std::string name;
  std::string topic;
  std::uint64_t last_seq = 0;
  std::uint64_t oldest_kept_seq = 1;  // messages below it were removed by retention
};

struct DedupEntry {
  std::string sender_key;
  std::uint64_t client_msg_id = 0;
  std::uint64_t seq = 0;
};

// One Redis master of the cluster engine, as /metrics shows it.
struct StoreShard {
  std::string address;  // host:port
  std::string slots;    // "0-5460"
  bool connected = false;
  std::uint64_t commands = 0;
  std::uint64_t errors = 0;
  std::uint64_t redirects = 0;  // MOVED and ASK answers
  std::uint64_t reconnects = 0;
  double latency_seconds_sum = 0;  // from sending each command to its reply
};

struct StoreStats {
  std::uint64_t commits = 0;
  std::uint64_t ops_committed = 0;
  std::uint64_t failed_batches = 0;
  std::uint64_t retention_deleted = 0;
  std::uint64_t retention_failures = 0;
  std::size_t queued_writes = 0;
  bool last_batch_failed = false;  // the newest group commit failed (disk full, I/O error)
  std::vector<StoreShard> shards;  // the cluster engine's Redis masters
};

}  // namespace chat::server::storage
