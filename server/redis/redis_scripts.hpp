#pragma once
// The engine's server-side Lua scripts. Each runs atomically in Redis. Stream entry IDs are
// "<seq>-1": the room's sequence is the entry's ID, so XRANGE by sequence needs no index. A
// message is stored as field m (the RoomMessage, its seq left 0) and field s (the sender's key).

namespace chat::server::redis::scripts {

// KEYS: seq counter, stream, client_msg_id hash, rooms hash.
// ARGV: room key, room display name, dedup field ("" when none), message, channel, MAXLEN ("0":
// none), sender key. Returns {duplicate (0 or 1), seq}.
inline constexpr const char* append = R"lua(
if ARGV[3] ~= '' then
  local old = redis.call('HGET', KEYS[3], ARGV[3])
  if old then return {1, tonumber(old)} end
end
local seq = redis.call('INCR', KEYS[1])
if ARGV[6] ~= '0' then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], seq .. '-1', 'm', ARGV[4], 's', ARGV[7])
else
  redis.call('XADD', KEYS[2], seq .. '-1', 'm', ARGV[4], 's', ARGV[7])
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[3], seq) end
redis.call('HSETNX', KEYS[4], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], seq .. ' ' .. ARGV[4])
return {0, seq}
)lua";

// KEYS: stream, edits hash. ARGV: "latest" | "before" | "after", seq, count.
// Returns {oldest kept seq (0: none), {{seq, message}...}} (newest first unless "after").
inline constexpr const char* history = R"lua(
local entries
if ARGV[1] == 'after' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2] .. '-1', '+', 'COUNT', ARGV[3])
elseif ARGV[1] == 'before' then
  entries = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[2] .. '-1', '-', 'COUNT', ARGV[3])
else
  entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[3])
end
local out = {}
for i, entry in ipairs(entries) do
  local seq = string.match(entry[1], '^(%d+)')
  out[i] = {seq, redis.call('HGET', KEYS[2], seq) or entry[2][2]}
end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local oldest = 0
if #first > 0 then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end
return {oldest, out}
)lua";

// KEYS: seq counter, stream, edits hash, topic, rooms hash, members hash. ARGV: count, room key.
// Returns {last seq, topic, display name, {{seq, message}...} newest first, {field, nick, ...}}.
inline constexpr const char* load_room = R"lua(
local seq = redis.call('GET', KEYS[1]) or '0'
local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[1])
local out = {}
for i, entry in ipairs(entries) do
  local s = string.match(entry[1], '^(%d+)')
  out[i] = {s, redis.call('HGET', KEYS[3], s) or entry[2][2]}
end
return {seq, redis.call('GET', KEYS[4]) or '', redis.call('HGET', KEYS[5], ARGV[2]) or '', out,
        redis.call('HGETALL', KEYS[6])}
)lua";

// KEYS: members hash. ARGV: "J" or "L", field ("<node>:<session>"), nick, channel, payload.
// Records the member (or forgets it) and tells every node following the room.
inline constexpr const char* presence = R"lua(
if ARGV[1] == 'J' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
)lua";

// KEYS: stream, edits hash. ARGV: seq. Returns {sender key, message} or nil.
inline constexpr const char* find_message = R"lua(
local entries = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-1', ARGV[1] .. '-1')
if #entries == 0 then return nil end
local fields = entries[1][2]
return {fields[4], redis.call('HGET', KEYS[2], ARGV[1]) or fields[2]}
)lua";

// KEYS: the account's markers hash. ARGV: room key, seq. Keeps the highest.
inline constexpr const char* mark_read = R"lua(
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
)lua";

// KEYS: the account's markers hash, rooms hash. Returns {{room key, display name, seq}...}.
inline constexpr const char* read_markers = R"lua(
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  out[#out + 1] = {all[i], redis.call('HGET', KEYS[2], all[i]) or all[i], all[i + 1]}
end
return out
)lua";

// KEYS: nicks hash. ARGV: nick key, owner ("<node>:<session>"), node key prefix, own node id,
// heartbeat TTL (ms). Claims the nick unless a node that is still alive (its heartbeat key exists)
// holds it; the claiming node's own heartbeat is renewed first, so its claims count from the start.
inline constexpr const char* claim_nick = R"lua(
redis.call('SET', ARGV[3] .. ARGV[4], '1', 'PX', ARGV[5])
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[2] then
  local node = string.match(owner, '^([^:]+)')
  if redis.call('EXISTS', ARGV[3] .. node) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua";

// KEYS: nicks hash. ARGV: nick key, owner. Gives the nick up if this owner still holds it.
inline constexpr const char* release_nick = R"lua(
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
)lua";

}  // namespace chat::server::redis::scripts
