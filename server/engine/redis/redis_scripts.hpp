#pragma once
// The engine's server-side Lua scripts. Each runs atomically in Redis. Stream entry IDs are
// "<seq>-1": the room's sequence is the entry's ID, so XRANGE by sequence needs no index. A
// message is stored as field m (the RoomMessage, its seq left 0), s (the sender's key), t (its
// server time in ms) and, with a client_msg_id, d (its de-duplication field in the ids hash).
//
// A room's keys share the prefix "chat:r:<room key>" (":seq", ":log", ":ids", ":edits", ":topic",
// ":members"); "chat:room-index" is a sorted set of every room key in use, for ListRooms.

#include <string>
#include <vector>

namespace chat::server::redis::scripts {

// A script's text and its SHA-1, by which EVALSHA names it once Redis has loaded it.
struct Script {
  explicit Script(std::string text);
  std::string body;
  std::string sha1;  // lowercase hex
};

// Lua shared by the scripts below.
inline constexpr const char* library = R"lua(
-- Drops a room's oldest messages beyond max_len (0: no limit) or older than min_time (ms since
-- the epoch; 0: no limit), at most `budget`, with their client_msg_id and edit records. Returns
-- how many it dropped. Reads the stream from its start in growing batches, so an append that has
-- one message to drop, or none, reads one or two entries.
local function trim(room, max_len, min_time, budget)
  local stream = room .. ':log'
  local excess = 0
  if max_len > 0 then excess = redis.call('XLEN', stream) - max_len end
  if excess <= 0 and min_time <= 0 then return 0 end
  local dropped, batch, from = {}, math.max(1, math.min(excess, budget)), '-'
  while #dropped < budget and (min_time > 0 or #dropped < excess) do
    local entries = redis.call('XRANGE', stream, from, '+', 'COUNT', batch)
    local kept = #entries == 0
    for _, entry in ipairs(entries) do
      local fields, time, dedup = entry[2], nil, nil
      for f = 1, #fields - 1, 2 do
        if fields[f] == 't' then time = tonumber(fields[f + 1]) end
        if fields[f] == 'd' then dedup = fields[f + 1] end
      end
      local expired = min_time > 0 and time ~= nil and time < min_time
      if (#dropped >= excess and not expired) or #dropped >= budget then
        kept = true
        break
      end
      dropped[#dropped + 1] = entry[1]
      if dedup then redis.call('HDEL', room .. ':ids', dedup) end
      redis.call('HDEL', room .. ':edits', string.match(entry[1], '^(%d+)'))
    end
    if kept then break end
    from = '(' .. dropped[#dropped]
    batch = math.min(batch * 4, budget)
  end
  if #dropped > 0 then redis.call('XDEL', stream, unpack(dropped)) end
  return #dropped
end

-- trim until nothing is left to drop (bounded: what remains goes with the next sweep).
local function trim_all(room, max_len, min_time)
  for _ = 1, 20 do
    if trim(room, max_len, min_time, 100) < 100 then return end
  end
end

-- A room nobody is in, without messages or topic, leaves the index (as the embedded engine
-- forgets it).
local function forget_if_unused(room, room_key, index, names)
  if redis.call('HLEN', room .. ':members') == 0 and redis.call('EXISTS', room .. ':seq') == 0 and
     redis.call('EXISTS', room .. ':topic') == 0 then
    redis.call('ZREM', index, room_key)
    redis.call('HDEL', names, room_key)
  end
end

-- The oldest sequence still kept: the stream's first entry, or the one after the last when the
-- stream is empty.
local function oldest_kept(room)
  local first = redis.call('XRANGE', room .. ':log', '-', '+', 'COUNT', 1)
  if #first > 0 then return tonumber(string.match(first[1][1], '^(%d+)')) end
  return tonumber(redis.call('GET', room .. ':seq') or '0') + 1
end

-- {{seq, message}...} from stream entries, edited versions where there are.
local function with_edits(room, entries)
  local out = {}
  for i, entry in ipairs(entries) do
    local seq = string.match(entry[1], '^(%d+)')
    out[i] = {seq, redis.call('HGET', room .. ':edits', seq) or entry[2][2]}
  end
  return out
end
)lua";

// KEYS: rooms hash (key -> display name), room index. ARGV: room prefix, room key, display name,
// dedup field ("" when none), message, channel, sender key, time (ms), MAXLEN ("0": none),
// min time ("0": none), the highest seq the sending node has seen in the room. Returns
// {duplicate (0 or 1), seq}.
inline const Script append{std::string(library) + R"lua(
local room = ARGV[1]
if ARGV[4] ~= '' then
  local old = redis.call('HGET', room .. ':ids', ARGV[4])
  if old then return {1, tonumber(old)} end
end
local seq = redis.call('INCR', room .. ':seq')
if seq <= tonumber(ARGV[11]) then
  -- Redis lost the counter (restarted without its data): a sequence nodes have seen is not reused.
  seq = tonumber(ARGV[11]) + 1
  redis.call('SET', room .. ':seq', seq)
end
if ARGV[4] ~= '' then
  redis.call('XADD', room .. ':log', seq .. '-1', 'm', ARGV[5], 's', ARGV[7], 't', ARGV[8],
             'd', ARGV[4])
  redis.call('HSET', room .. ':ids', ARGV[4], seq)
else
  redis.call('XADD', room .. ':log', seq .. '-1', 'm', ARGV[5], 's', ARGV[7], 't', ARGV[8])
end
trim(room, tonumber(ARGV[9]), tonumber(ARGV[10]), 100)
redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
redis.call('SPUBLISH', ARGV[6], seq .. ' ' .. ARGV[5])
return {0, seq}
)lua"};

// KEYS: none. ARGV: room prefix, "latest" | "before" | "after", seq, count, MAXLEN, min time.
// Retention is applied first. Returns {oldest kept seq, {{seq, message}...}} (newest first unless
// "after").
inline const Script history{std::string(library) + R"lua(
local room = ARGV[1]
trim_all(room, tonumber(ARGV[5]), tonumber(ARGV[6]))
local stream = room .. ':log'
local entries
if ARGV[2] == 'after' then
  entries = redis.call('XRANGE', stream, '(' .. ARGV[3] .. '-1', '+', 'COUNT', ARGV[4])
elseif ARGV[2] == 'before' then
  entries = redis.call('XREVRANGE', stream, '(' .. ARGV[3] .. '-1', '-', 'COUNT', ARGV[4])
else
  entries = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', ARGV[4])
end
return {oldest_kept(room), with_edits(room, entries)}
)lua"};

// KEYS: rooms hash. ARGV: room prefix, count, room key, MAXLEN, min time. Retention is applied
// first. Returns {last seq, topic, display name, {{seq, message}...} newest first,
// {field, nick, ...}}.
inline const Script load_room{std::string(library) + R"lua(
local room = ARGV[1]
trim_all(room, tonumber(ARGV[4]), tonumber(ARGV[5]))
local entries = redis.call('XREVRANGE', room .. ':log', '+', '-', 'COUNT', ARGV[2])
return {redis.call('GET', room .. ':seq') or '0', redis.call('GET', room .. ':topic') or '',
        redis.call('HGET', KEYS[1], ARGV[3]) or '', with_edits(room, entries),
        redis.call('HGETALL', room .. ':members')}
)lua"};

// KEYS: rooms hash, room index. ARGV: room prefix, room key, display name, "J" | "L" | "N",
// field ("<node>:<session>"), nick (the new one for "N"), channel, payload, the node's rooms set,
// "1" when it was the node's last member of the room (else "0"). Records a member joining,
// leaving or changing nick, and tells every node following the room.
inline const Script presence{std::string(library) + R"lua(
local room, members = ARGV[1], ARGV[1] .. ':members'
if ARGV[4] == 'J' then
  redis.call('HSET', members, ARGV[5], ARGV[6])
  redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[2], 0, ARGV[2])
  redis.call('SADD', ARGV[9], ARGV[2])
elseif ARGV[4] == 'N' then
  if redis.call('HEXISTS', members, ARGV[5]) == 0 then return 0 end
  redis.call('HSET', members, ARGV[5], ARGV[6])
else
  redis.call('HDEL', members, ARGV[5])
  if ARGV[10] == '1' then redis.call('SREM', ARGV[9], ARGV[2]) end
  forget_if_unused(room, ARGV[2], KEYS[2], KEYS[1])
end
redis.call('SPUBLISH', ARGV[7], ARGV[8])
return 1
)lua"};

// KEYS: rooms hash, room index. ARGV: room prefix, room key, display name, channel, the node's
// rooms set, node id, then field and nick of each member the node has in the room now (none when
// it has no more). Makes Redis's record of this node's members of the room exactly that, after
// Redis lost changes (away, restarted empty, or this node taken for dead): whom it no longer has
// leave, and every node following the room is told who is there and under which nick.
inline const Script sync_members{std::string(library) + R"lua(
local room, members, channel, node = ARGV[1], ARGV[1] .. ':members', ARGV[4], ARGV[6]
local mine = node .. ':'
local function tell(letter, field, nick, detail)
  redis.call('SPUBLISH', channel, 'P' .. letter .. ' ' .. node .. ' ' .. field .. ' ' .. nick .. '\n' ..
             detail)
end
local wanted = {}
for i = 7, #ARGV - 1, 2 do wanted[ARGV[i]] = ARGV[i + 1] end
local had = {}
local all = redis.call('HGETALL', members)
for i = 1, #all, 2 do
  local field, nick = all[i], all[i + 1]
  if string.sub(field, 1, #mine) == mine then
    had[field] = nick
    if not wanted[field] then
      redis.call('HDEL', members, field)
      tell('L', field, nick, 'disconnected')
    end
  end
end
local any = false
for field, nick in pairs(wanted) do
  any = true
  redis.call('HSET', members, field, nick)
  tell('J', field, nick, '')
  if had[field] and had[field] ~= nick then tell('N', field, nick, had[field]) end
end
if any then
  redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[2], 0, ARGV[2])
  redis.call('SADD', ARGV[5], ARGV[2])
else
  redis.call('SREM', ARGV[5], ARGV[2])
  forget_if_unused(room, ARGV[2], KEYS[2], KEYS[1])
end
return 1
)lua"};

// KEYS: rooms hash, room index. ARGV: room key prefix ("chat:r:"), from ("-" or "[prefix"), to
// ("+" or "[prefix\xff"), count. Returns {{room key, display name, members, topic, last seq}...}
// in key order.
inline const Script list_rooms{R"lua(
local out = {}
local keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[2], ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
for i, key in ipairs(keys) do
  local room = ARGV[1] .. key
  out[i] = {key, redis.call('HGET', KEYS[1], key) or key, redis.call('HLEN', room .. ':members'),
            redis.call('GET', room .. ':topic') or '', redis.call('GET', room .. ':seq') or '0'}
end
return out
)lua"};

// KEYS: room index. ARGV: room key prefix, cursor (the last room key swept, "" to start), rooms
// per call, MAXLEN, min time. Applies retention to the next rooms in key order. Returns
// {cursor for the next call ("" when the pass is done), messages dropped}.
inline const Script sweep{std::string(library) + R"lua(
local from = '-'
if ARGV[2] ~= '' then from = '(' .. ARGV[2] end
local count = tonumber(ARGV[3])
local keys = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, count)
local dropped = 0
for _, key in ipairs(keys) do dropped = dropped + trim(ARGV[1] .. key, tonumber(ARGV[4]), tonumber(ARGV[5]), 100) end
local cursor = ''
if #keys == count then cursor = keys[#keys] end
return {cursor, dropped}
)lua"};

// KEYS: nodes set, rooms hash, room index, nicks hash. ARGV: node key prefix ("chat:node:"), room
// key prefix. Every node whose heartbeat expired: its members are removed from each room it had
// members in, the nicks it still holds are freed, and the node leaves the set. Returns the nodes
// removed.
inline const Script reap_nodes{std::string(library) + R"lua(
local reaped = {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. node) == 0 then
    local rooms = ARGV[1] .. node .. ':rooms'
    local mine = node .. ':'
    for _, room_key in ipairs(redis.call('SMEMBERS', rooms)) do
      local room = ARGV[2] .. room_key
      for _, field in ipairs(redis.call('HKEYS', room .. ':members')) do
        if string.sub(field, 1, #mine) == mine then redis.call('HDEL', room .. ':members', field) end
      end
      forget_if_unused(room, room_key, KEYS[3], KEYS[2])
    end
    redis.call('DEL', rooms)
    local nicks = ARGV[1] .. node .. ':nicks'
    for _, nick in ipairs(redis.call('SMEMBERS', nicks)) do
      local owner = redis.call('HGET', KEYS[4], nick)
      if owner and string.sub(owner, 1, #mine) == mine then redis.call('HDEL', KEYS[4], nick) end
    end
    redis.call('DEL', nicks)
    redis.call('SREM', KEYS[1], node)
    reaped[#reaped + 1] = node
  end
end
return reaped
)lua"};

// KEYS: stream, edits hash. ARGV: seq. Returns {sender key, message} or nil.
inline const Script find_message{R"lua(
local entries = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-1', ARGV[1] .. '-1')
if #entries == 0 then return nil end
local fields = entries[1][2]
return {fields[4], redis.call('HGET', KEYS[2], ARGV[1]) or fields[2]}
)lua"};

// KEYS: stream, edits hash. ARGV: seq, the version the node read, the new version. Writes the new
// version only if the message is still there as read: "ok", "changed" (another edit or delete
// came first: read again) or "gone" (retention took it).
inline const Script replace_message{R"lua(
local entries = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-1', ARGV[1] .. '-1')
if #entries == 0 then return 'gone' end
local current = redis.call('HGET', KEYS[2], ARGV[1]) or entries[1][2][2]
if current ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 'ok'
)lua"};

// KEYS: the account's markers hash. ARGV: room key, seq. Keeps the highest.
inline const Script mark_read{R"lua(
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
)lua"};

// KEYS: the account's markers hash, rooms hash. Returns {{room key, display name, seq}...}.
inline const Script read_markers{R"lua(
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  out[#out + 1] = {all[i], redis.call('HGET', KEYS[2], all[i]) or all[i], all[i + 1]}
end
return out
)lua"};

// KEYS: nicks hash. ARGV: nick key, owner ("<node>:<session>"), node key prefix, own node id,
// heartbeat TTL (ms). Claims the nick unless a session of another node that is still alive (its
// heartbeat key exists) holds it: this node's own sessions are told apart by the node itself. The
// claiming node's heartbeat is renewed first, so its claims count from the start. Returns
// {1 claimed or 0 held elsewhere, 1 when this node's heartbeat had expired (else 0)}.
inline const Script claim_nick{R"lua(
local expired = redis.call('SET', ARGV[3] .. ARGV[4], '1', 'PX', ARGV[5], 'GET') and 0 or 1
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[2] then
  local node = string.match(owner, '^([^:]+)')
  if node ~= ARGV[4] and redis.call('EXISTS', ARGV[3] .. node) == 1 then return {0, expired} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', ARGV[3] .. ARGV[4] .. ':nicks', ARGV[1])
return {1, expired}
)lua"};

// KEYS: nicks hash. ARGV: nick key, owner, node key prefix, own node id. Gives the nick up if
// this owner still holds it; it leaves the node's set of nicks unless another of its sessions
// holds it.
inline const Script release_nick{R"lua(
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  owner = false
end
if not owner or string.match(owner, '^([^:]+)') ~= ARGV[4] then
  redis.call('SREM', ARGV[3] .. ARGV[4] .. ':nicks', ARGV[1])
end
return 1
)lua"};

// KEYS: none. ARGV: room prefix, the highest seq a node has seen in the room. Raises the room's
// counter to it: Redis restarted without its data must not hand out those sequences again.
inline const Script raise_seq{R"lua(
local seq = tonumber(redis.call('GET', ARGV[1] .. ':seq') or '0')
if seq < tonumber(ARGV[2]) then redis.call('SET', ARGV[1] .. ':seq', ARGV[2]) end
return 1
)lua"};

// KEYS: rooms hash, room index. ARGV: room key, display name, topic key, topic ("" clears it),
// channel, payload ("": none). Stores the topic and tells the nodes following the room in one
// step, so every node shows the topic Redis keeps when two change it at once.
inline const Script set_topic{R"lua(
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[4] == '' then redis.call('DEL', ARGV[3]) else redis.call('SET', ARGV[3], ARGV[4]) end
if ARGV[6] ~= '' then redis.call('SPUBLISH', ARGV[5], ARGV[6]) end
return 1
)lua"};

// Every script above, for SCRIPT LOAD when a connection comes up.
std::vector<const Script*> all();

}  // namespace chat::server::redis::scripts
