#pragma once
// The engine's server-side Lua scripts. Each runs atomically in Redis. Stream entry IDs are
// "<seq>-1": the room's sequence is the entry's ID, so XRANGE by sequence needs no index. A
// message is stored as field m (the RoomMessage, its seq left 0), s (the sender's key), t (its
// server time in ms) and, with a client_msg_id, d (its de-duplication field in the ids hash).
//
// A room's keys share the prefix "chat:r:{<room key>}" (":seq", ":log", ":ids", ":edits", ":topic",
// ":members", ":name"): one hash slot, so in a Redis Cluster each script below runs on the master
// of the one slot its KEYS name and touches nothing outside it (the engine makes the changes to
// the room index, a node's sets and nick keys as commands of their own). A room's script declares
// all seven of the room's keys, in that order ("room keys" below), though it may use fewer: while
// the room's slot moves between masters, Redis then refuses it (TRYAGAIN, ASK) instead of running
// it on a master that holds only some of them.

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

-- A room nobody is in, without messages or topic, loses its display name too (as the embedded
-- engine forgets it); the room list skips it.
local function forget_if_unused(room)
  if redis.call('HLEN', room .. ':members') == 0 and redis.call('EXISTS', room .. ':seq') == 0 and
     redis.call('EXISTS', room .. ':topic') == 0 then
    redis.call('DEL', room .. ':name')
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

// KEYS: room keys. ARGV: room prefix, display name, dedup field ("" when none), message,
// channel, sender key, time (ms), MAXLEN ("0": none), min time ("0": none), the highest seq the
// sending node has seen in the room. Returns {duplicate (0 or 1), seq}.
inline const Script append{std::string(library) + R"lua(
local room = ARGV[1]
if ARGV[3] ~= '' then
  local old = redis.call('HGET', room .. ':ids', ARGV[3])
  if old then return {1, tonumber(old)} end
end
local seq = redis.call('INCR', KEYS[1])
if seq <= tonumber(ARGV[10]) then
  -- Redis lost the counter (restarted without its data): a sequence nodes have seen is not reused.
  seq = tonumber(ARGV[10]) + 1
  redis.call('SET', KEYS[1], seq)
end
if ARGV[3] ~= '' then
  redis.call('XADD', room .. ':log', seq .. '-1', 'm', ARGV[4], 's', ARGV[6], 't', ARGV[7],
             'd', ARGV[3])
  redis.call('HSET', room .. ':ids', ARGV[3], seq)
else
  redis.call('XADD', room .. ':log', seq .. '-1', 'm', ARGV[4], 's', ARGV[6], 't', ARGV[7])
end
trim(room, tonumber(ARGV[8]), tonumber(ARGV[9]), 100)
redis.call('SETNX', room .. ':name', ARGV[2])
redis.call('SPUBLISH', ARGV[5], seq .. ' ' .. ARGV[4])
return {0, seq}
)lua"};

// KEYS: room keys. ARGV: room prefix, "latest" | "before" | "after", seq, count, MAXLEN, min
// time. Retention is applied first. Returns {oldest kept seq, {{seq, message}...}} (newest first
// unless "after").
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

// KEYS: room keys. ARGV: room prefix, count, MAXLEN, min time. Retention is applied first.
// Returns {last seq, topic, display name ("" when none), {{seq, message}...} newest first,
// {field, nick, ...}}.
inline const Script load_room{std::string(library) + R"lua(
local room = ARGV[1]
trim_all(room, tonumber(ARGV[3]), tonumber(ARGV[4]))
local entries = redis.call('XREVRANGE', room .. ':log', '+', '-', 'COUNT', ARGV[2])
return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', room .. ':topic') or '',
        redis.call('GET', room .. ':name') or '', with_edits(room, entries),
        redis.call('HGETALL', room .. ':members')}
)lua"};

// KEYS: room keys. ARGV: room prefix, display name, "J" | "L" | "N", field
// ("<node>:<session>"), nick (the new one for "N"), channel, payload. Records a member joining,
// leaving or changing nick, and tells every node following the room.
inline const Script presence{std::string(library) + R"lua(
local room, members = ARGV[1], KEYS[6]
if ARGV[3] == 'J' then
  redis.call('HSET', members, ARGV[4], ARGV[5])
  redis.call('SETNX', room .. ':name', ARGV[2])
elseif ARGV[3] == 'N' then
  if redis.call('HEXISTS', members, ARGV[4]) == 0 then return 0 end
  redis.call('HSET', members, ARGV[4], ARGV[5])
else
  redis.call('HDEL', members, ARGV[4])
  forget_if_unused(room)
end
redis.call('SPUBLISH', ARGV[6], ARGV[7])
return 1
)lua"};

// KEYS: room keys. ARGV: room prefix, display name, channel, node id, then field and nick
// of each member the node has in the room now (none when it has no more). Makes Redis's record of
// this node's members of the room exactly that, after Redis lost changes (away, restarted empty,
// or this node taken for dead): whom it no longer has leave, and every node following the room is
// told who is there and under which nick. Returns 1 when the node has members there, else 0.
inline const Script sync_members{std::string(library) + R"lua(
local room, members, channel, node = ARGV[1], KEYS[6], ARGV[3], ARGV[4]
local mine = node .. ':'
local function tell(letter, field, nick, detail)
  redis.call('SPUBLISH', channel, 'P' .. letter .. ' ' .. node .. ' ' .. field .. ' ' .. nick .. '\n' ..
             detail)
end
local wanted = {}
for i = 5, #ARGV - 1, 2 do wanted[ARGV[i]] = ARGV[i + 1] end
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
  redis.call('SETNX', room .. ':name', ARGV[2])
  return 1
end
forget_if_unused(room)
return 0
)lua"};

// KEYS: room keys. ARGV: room prefix, room key. Returns {display name, members, topic, last
// seq}, or nil when the room is not in use (no member, message or topic).
inline const Script room_info{R"lua(
local room = ARGV[1]
local members = redis.call('HLEN', room .. ':members')
local topic = redis.call('GET', room .. ':topic') or ''
local seq = redis.call('GET', KEYS[1]) or '0'
if members == 0 and topic == '' and seq == '0' then return nil end
return {redis.call('GET', room .. ':name') or ARGV[2], members, topic, seq}
)lua"};

// KEYS: room keys. ARGV: room prefix, MAXLEN, min time. Applies retention to the room (at
// most 100 messages a call). Returns how many messages it dropped.
inline const Script trim_room{std::string(library) + R"lua(
return trim(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), 100)
)lua"};

// KEYS: room keys. ARGV: room prefix, node id. Removes every member of a node taken for dead from
// the room.
inline const Script remove_node_members{std::string(library) + R"lua(
local mine = ARGV[2] .. ':'
for _, field in ipairs(redis.call('HKEYS', KEYS[6])) do
  if string.sub(field, 1, #mine) == mine then redis.call('HDEL', KEYS[6], field) end
end
forget_if_unused(ARGV[1])
return 1
)lua"};

// KEYS: room keys. ARGV: seq. Returns {sender key, message} or nil.
inline const Script find_message{R"lua(
local entries = redis.call('XRANGE', KEYS[2], ARGV[1] .. '-1', ARGV[1] .. '-1')
if #entries == 0 then return nil end
local fields = entries[1][2]
return {fields[4], redis.call('HGET', KEYS[4], ARGV[1]) or fields[2]}
)lua"};

// KEYS: room keys. ARGV: seq, the version the node read, the new version. Writes the new
// version only if the message is still there as read: "ok", "changed" (another edit or delete
// came first: read again) or "gone" (retention took it).
inline const Script replace_message{R"lua(
local entries = redis.call('XRANGE', KEYS[2], ARGV[1] .. '-1', ARGV[1] .. '-1')
if #entries == 0 then return 'gone' end
local current = redis.call('HGET', KEYS[4], ARGV[1]) or entries[1][2][2]
if current ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
return 'ok'
)lua"};

// KEYS: the account's markers hash. ARGV: room key, seq. Keeps the highest.
inline const Script mark_read{R"lua(
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
)lua"};

// KEYS: the nick's key. ARGV: owner ("<node>:<session>"), own node id. Claims the nick unless a
// session of another node holds it (this node's own sessions are told apart by the node itself).
// Returns {1, ""} claimed, or {0, the owner}: the engine then asks whether the owner's node is
// alive, and takes the nick of a dead one with take_nick.
inline const Script claim_nick{R"lua(
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] and string.match(owner, '^([^:]+)') ~= ARGV[2] then
  return {0, owner}
end
redis.call('SET', KEYS[1], ARGV[1])
return {1, ''}
)lua"};

// KEYS: the nick's key. ARGV: the owner seen (of a dead node), the new owner. Takes the nick only
// if nobody else took it since. Returns 1 taken, else 0.
inline const Script take_nick{R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
)lua"};

// KEYS: the nick's key. ARGV: owner, own node id. Gives the nick up if this owner still holds it.
// Returns 1 when no session of this node holds it any more (it leaves the node's set), else 0.
inline const Script release_nick{R"lua(
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
if not owner or string.match(owner, '^([^:]+)') ~= ARGV[2] then return 1 end
return 0
)lua"};

// KEYS: the nick's key. ARGV: a node taken for dead. Frees the nick if a session of that node
// holds it.
inline const Script free_nick_of_node{R"lua(
local owner = redis.call('GET', KEYS[1])
if owner and string.match(owner, '^([^:]+)') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
)lua"};

// KEYS: room keys. ARGV: the highest seq a node has seen in the room. Raises the room's
// counter to it: Redis restarted without its data must not hand out those sequences again.
inline const Script raise_seq{R"lua(
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
)lua"};

// KEYS: room keys. ARGV: room prefix, display name, topic ("" clears it), channel, payload
// ("": none). Stores the topic and tells the nodes following the room in one step, so every node
// shows the topic Redis keeps when two change it at once.
inline const Script set_topic{R"lua(
redis.call('SETNX', ARGV[1] .. ':name', ARGV[2])
if ARGV[3] == '' then redis.call('DEL', KEYS[5]) else redis.call('SET', KEYS[5], ARGV[3]) end
if ARGV[5] ~= '' then redis.call('SPUBLISH', ARGV[4], ARGV[5]) end
return 1
)lua"};

// Every script above, for SCRIPT LOAD when a connection comes up.
std::vector<const Script*> all();

}  // namespace chat::server::redis::scripts
