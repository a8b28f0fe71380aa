-- Moves cluster-mode data written before Redis Cluster support (keys without hash tags) to the
-- current layout (server/engine/redis/engine_keys.hpp). Run it once, on the one Redis the nodes
-- used, with every chat-server node stopped:
--   redis-cli -h HOST -p PORT --eval scripts/redis_migrate_layout.lua
-- Rooms (counter, stream, de-duplication, edits, topic, display name), accounts and read markers
-- move; what the nodes make again when they start (members, nick claims, node records) goes.
-- Returns {rooms, accounts, read markers} moved. Running it again moves nothing more.
local rooms, accounts, markers = 0, 0, 0
for _, room_key in ipairs(redis.call('ZRANGE', 'chat:room-index', 0, -1)) do
  local old, new = 'chat:r:' .. room_key, 'chat:r:{' .. room_key .. '}'
  if redis.call('EXISTS', old .. ':seq', old .. ':log', old .. ':topic') > 0 then
    rooms = rooms + 1
  end
  for _, suffix in ipairs({':seq', ':log', ':ids', ':edits', ':topic'}) do
    if redis.call('EXISTS', old .. suffix) == 1 then redis.call('RENAME', old .. suffix, new .. suffix) end
  end
  redis.call('DEL', old .. ':members')
  local name = redis.call('HGET', 'chat:rooms', room_key)
  if name then redis.call('SET', new .. ':name', name) end
end
local all = redis.call('HGETALL', 'chat:accounts')
for i = 1, #all, 2 do
  redis.call('SET', 'chat:account:{' .. all[i] .. '}', all[i + 1], 'NX')
  accounts = accounts + 1
end
for _, key in ipairs(redis.call('KEYS', 'chat:read:*')) do
  local account = string.sub(key, #'chat:read:' + 1)
  if string.sub(account, 1, 1) ~= '{' then
    redis.call('RENAME', key, 'chat:read:{' .. account .. '}')
    markers = markers + 1
  end
end
for _, key in ipairs(redis.call('KEYS', 'chat:node:*')) do
  if not string.find(key, '{', 1, true) then redis.call('DEL', key) end
end
redis.call('DEL', 'chat:rooms', 'chat:accounts', 'chat:nicks', 'chat:nodes', 'chat:sweep-lock')
return {rooms, accounts, markers}
