import { LUA_PRELUDE } from './luaCommon';

// One script per state change, each atomic in Redis (luaCommon.ts holds the conventions and the
// moves they share). Their own arguments start at ARGV[6]; '' stands for an absent value.

/** queue/declare: ARGV q, then option field/value pairs. Data: {'1'} when it created the queue. */
const declare = `
local q = ARGV[6]
local options = {}
for i = 7, #ARGV do options[#options + 1] = ARGV[i] end
local created = create_queue(q, options)
if not created and #options > 0 then redis.call('HSET', qkey(q), unpack(options)) end
touch_queue(q)
return finish('ok', {created and '1' or '0'})
`;

/** ARGV q, autoCreate ('1'). Status: ok, created or missing. */
const ensure = `
local q = ARGV[6]
if redis.call('EXISTS', qkey(q)) == 1 then return finish('ok') end
if ARGV[7] ~= '1' then return finish('missing') end
create_queue(q, nil)
return finish('created')
`;

/**
 * ARGV q, session, mode (put, or probe: only say what is in the way), n, then per task: id,
 * payload, priority, delay, ttr, replyTo, maxAttempts. Status ok, full or never; full and never
 * carry {limit, maxsize, maxBytes, bytes held, bytes of the put}.
 */
const put = `
local q = ARGV[6]
local session = ARGV[7]
local mode = ARGV[8]
local n = tonumber(ARGV[9])
local k = qkey(q)
create_queue(q, nil)
settle(q)
local o = redis.call('HMGET', k, 'ms', 'mb', 'bytes')
local ms, mb, held = tonumber(o[1]), tonumber(o[2]), tonumber(o[3])
local bytes = 0
for i = 0, n - 1 do bytes = bytes + string.len(ARGV[11 + i * 7]) end
local function answer(status, limit) return finish(status, {limit, num(ms), num(mb), num(held), num(bytes)}) end
if ms > 0 and n > ms then return answer('never', 'maxsize') end
if mb > 0 and bytes > mb then return answer('never', 'maxBytes') end
local limit = false
if ms > 0 and size_of(q) + n > ms then limit = 'maxsize' elseif mb > 0 and held + bytes > mb then limit = 'maxBytes' end
if limit or mode == 'probe' then return answer('full', limit or 'maxsize') end
for i = 0, n - 1 do
  local base = 10 + i * 7
  local id, payload, delay = ARGV[base], ARGV[base + 1], tonumber(ARGV[base + 3]) or 0
  local fields = {'q', q, 'p', payload, 'pr', ARGV[base + 2], 'at', num(NOW), 'a', 1, 'b', string.len(payload)}
  if ARGV[base + 4] ~= '' then fields[#fields + 1] = 'ttr'; fields[#fields + 1] = ARGV[base + 4] end
  if ARGV[base + 5] ~= '' then fields[#fields + 1] = 'rt'; fields[#fields + 1] = ARGV[base + 5] end
  if ARGV[base + 6] ~= '' then fields[#fields + 1] = 'ma'; fields[#fields + 1] = ARGV[base + 6] end
  redis.call('HSET', tkey(id), unpack(fields))
  redis.call('HINCRBY', k, 'tp', 1)
  redis.call('HINCRBY', k, 'bytes', string.len(payload))
  event('put', q, id, 1, false, false, session)
  if delay > 0 then delay_task(q, id, NOW + math.floor(delay * 1000)) else make_ready(q, id, false) end
end
return finish('ok')
`;

/**
 * Takes back the tasks of a put withdrawn while its script ran (its request was cancelled, or its
 * session ended): those still ready or delayed leave as if never put. ARGV q, then ids. Data: {how many}.
 */
const unput = `
local q = ARGV[6]
local k = qkey(q)
local count = 0
for i = 7, #ARGV do
  local id = ARGV[i]
  local t = redis.call('HMGET', tkey(id), 'st', 'rk', 'q')
  if t[3] == q and (t[1] == 'r' or t[1] == 'd') then
    if t[1] == 'r' then redis.call('ZREM', k .. ':r', t[2]) else redis.call('ZREM', k .. ':d', id) end
    redis.call('HINCRBY', k, 'tp', -1)
    drop_task(q, id)
    count = count + 1
  end
end
return finish('ok', {tostring(count)})
`;

/** ARGV q, max, ttr, autoAck ('1'), holder. Data: the tasks taken (task_tuple). */
const get = `
local q, max, ttr, auto, holder = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9] == '1', ARGV[10]
local k = qkey(q)
create_queue(q, nil)
settle(q)
watch_due(q)
local members = redis.call('ZRANGE', k .. ':r', 0, max - 1)
local tasks = {}
for _, member in ipairs(members) do
  local id = string.sub(member, MEMBER_ID_AT)
  redis.call('ZREM', k .. ':r', member)
  if auto then
    tasks[#tasks + 1] = task_tuple(id)
    redis.call('HINCRBY', k, 'ta', 1)
    drop_task(q, id)
  else
    local length = ttr or tonumber(redis.call('HGET', tkey(id), 'ttr')) or tonumber(redis.call('HGET', k, 'ttr'))
    local lease_until = NOW + math.floor(length * 1000)
    redis.call('HSET', tkey(id), 'st', 'l', 'h', holder, 'lu', num(lease_until), 'lt', num(length))
    redis.call('ZADD', k .. ':l', lease_until, id)
    note_lease(id, holder)
    tasks[#tasks + 1] = task_tuple(id)
  end
end
return finish('ok', tasks)
`;

/**
 * A delivery the session could not take: the tasks go back to the head, attempt unchanged.
 * ARGV q, holder, n, then per task: id, payload, priority, enqueuedAt, attempt, replyTo,
 * lastError, deadLetteredFrom, ttr, maxAttempts (what an autoAck get removed, to put it back).
 */
const undo = `
local q, holder, n = ARGV[6], ARGV[7], tonumber(ARGV[8])
local k = qkey(q)
create_queue(q, nil)
for i = n, 1, -1 do
  local base = 9 + (i - 1) * 10
  local id = ARGV[base]
  local state = redis.call('HMGET', tkey(id), 'st', 'h')
  if state[1] == 'l' and state[2] == holder then
    end_lease(q, id, holder)
    make_ready(q, id, true)
  elseif not state[1] then
    local payload = ARGV[base + 1]
    local fields = {'q', q, 'p', payload, 'pr', ARGV[base + 2], 'at', ARGV[base + 3], 'a', ARGV[base + 4], 'b', string.len(payload)}
    local optional = {'rt', 'e', 'df', 'ttr', 'ma'}
    for j, field in ipairs(optional) do
      if ARGV[base + 4 + j] ~= '' then fields[#fields + 1] = field; fields[#fields + 1] = ARGV[base + 4 + j] end
    end
    redis.call('HSET', tkey(id), unpack(fields))
    redis.call('HINCRBY', k, 'bytes', string.len(payload))
    redis.call('HINCRBY', k, 'ta', -1)
    make_ready(q, id, true)
  end
end
return finish('ok')
`;

/**
 * Checks that the holder holds every id, each once; the status unknown carries the others. The
 * queues of the ids are brought up to date first: a lease past its end is over, as on one
 * manager, even when no timer has noticed yet.
 */
const checkHeld = (firstArg: number, stride: number) => `
local settled = {}
for i = ${firstArg}, #ARGV, ${stride} do
  local q = redis.call('HGET', tkey(ARGV[i]), 'q')
  if q and not settled[q] then
    settled[q] = true
    settle(q)
    watch_due(q)
  end
end
local seen, missing = {}, {}
for i = ${firstArg}, #ARGV, ${stride} do
  local id = ARGV[i]
  if seen[id] or not holds(id, holder) then missing[#missing + 1] = id end
  seen[id] = true
end
if #missing > 0 then return finish('unknown', missing) end
`;

/** ARGV holder, check-only ('1'), then per ack: id, result ('' for none). Data: {outbox length}. */
const ack = `
local holder = ARGV[6]
${checkHeld(8, 2)}
if ARGV[7] == '1' then return finish('ok', {'0'}) end
for i = 8, #ARGV, 2 do
  local id, result = ARGV[i], ARGV[i + 1]
  local t = redis.call('HMGET', tkey(id), 'q', 'a', 'rt')
  local q = t[1]
  end_lease(q, id, holder)
  redis.call('HINCRBY', qkey(q), 'ta', 1)
  event('ack', q, id, t[2], false, false, holder)
  if t[3] and result ~= '' then
    to_outbox({k = 'reply', q = t[3], id = id, src = q, at = num(NOW)}, '{"taskId":' .. cjson.encode(id) .. ',"result":' .. result .. '}')
  end
  drop_task(q, id)
end
return finish('ok', {tostring(redis.call('LLEN', P .. 'outbox'))})
`;

/** ARGV holder, check-only ('1'), then per nack: id, retry ('0' for false), delay, has an error ('1'), error. */
const nack = `
local holder = ARGV[6]
${checkHeld(8, 5)}
if ARGV[7] == '1' then return finish('ok', {'0'}) end
for i = 8, #ARGV, 5 do
  local id, retry, delay, has_error, err = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3] == '1', ARGV[i + 4]
  local t = redis.call('HMGET', tkey(id), 'q', 'a')
  local q = t[1]
  end_lease(q, id, holder)
  redis.call('HINCRBY', qkey(q), 'tn', 1)
  if has_error then redis.call('HSET', tkey(id), 'e', err) end
  event('nack', q, id, t[2], false, has_error and err or false, holder)
  touch_queue(q)
  if retry == '0' then
    bury(q, id, holder)
  else
    retry_or_bury(q, id, delay or math.min(BACKOFF_BASE * 2 ^ (tonumber(t[2]) - 1), BACKOFF_CAP), holder)
  end
end
return finish('ok', {tostring(redis.call('LLEN', P .. 'outbox'))})
`;

/** ARGV holder, ttr (''), then ids. Data: {the earliest new lease end (ms), then each id's}. */
const touch = `
local holder, ttr = ARGV[6], tonumber(ARGV[7])
${checkHeld(8, 1)}
local earliest = false
local ends = {}
for i = 8, #ARGV do
  local id = ARGV[i]
  local t = redis.call('HMGET', tkey(id), 'q', 'lt')
  local length = ttr or tonumber(t[2])
  local lease_until = NOW + math.floor(length * 1000)
  redis.call('HSET', tkey(id), 'lu', num(lease_until), 'lt', num(length))
  redis.call('ZADD', qkey(t[1]) .. ':l', lease_until, id)
  watch_due(t[1])
  if (not earliest) or lease_until < earliest then earliest = lease_until end
  ends[#ends + 1] = num(lease_until)
end
return finish('ok', {num(earliest), unpack(ends)})
`;

/** ARGV holder, reason, manager stopping ('1'), then ids. Data: {how many it gave back}. */
const release = `
local holder, reason, stopping = ARGV[6], ARGV[7], ARGV[8] == '1'
local count = 0
-- Last first: each goes to the head, so the session's tasks keep the order they were given in.
for i = #ARGV, 9, -1 do
  local q = holds(ARGV[i], holder)
  if q then
    lose_lease(q, ARGV[i], reason, stopping)
    count = count + 1
  end
end
return finish('ok', {tostring(count), tostring(redis.call('LLEN', P .. 'outbox'))})
`;

/**
 * A manager is gone (docs/redis.md: when a survivor may decide so): every lease its sessions
 * held in this family ends as a lease that expired, reason "manager gone". Idempotent: several
 * survivors reaping at once end each lease once. ARGV the manager's id. Data: {how many, outbox length}.
 */
const reap = `
local dead = ARGV[6]
local key = P .. 'held:' .. dead
local count = 0
for _, id in ipairs(redis.call('SMEMBERS', key)) do
  local t = redis.call('HMGET', tkey(id), 'st', 'h', 'q')
  if t[1] == 'l' and t[2] and manager_of(t[2]) == dead then
    lose_lease(t[3], id, 'manager gone', false)
    count = count + 1
  end
end
redis.call('DEL', key)
return finish('ok', {tostring(count), tostring(redis.call('LLEN', P .. 'outbox'))})
`;

/** ARGV q, max. Data: the next ready tasks (task_tuple), untouched. */
const peek = `
local q, max = ARGV[6], tonumber(ARGV[7])
create_queue(q, nil)
settle(q)
watch_due(q)
local tasks = {}
for _, member in ipairs(redis.call('ZRANGE', qkey(q) .. ':r', 0, max - 1)) do tasks[#tasks + 1] = task_tuple(string.sub(member, MEMBER_ID_AT)) end
return finish('ok', tasks)
`;

/**
 * ARGV q. Status missing when there is no such queue. Data: maxsize, maxBytes, ttr, maxAttempts,
 * deadLetter, ready, leased, delayed, bytes, emptiness counter, the five totals, and the size of
 * the dead-letter queue when it is in this family ('' otherwise).
 */
const stats = `
local q = ARGV[6]
local k = qkey(q)
if redis.call('EXISTS', k) == 0 then return finish('missing') end
settle(q)
watch_due(q)
local o = redis.call('HMGET', k, 'ms', 'mb', 'ttr', 'ma', 'dl', 'bytes', 'emp', 'tp', 'ta', 'tn', 'te', 'td')
local dead = ''
if o[5] ~= '' and family_of(o[5]) == FAMILY and redis.call('EXISTS', qkey(o[5])) == 1 then dead = tostring(size_of(o[5])) end
return finish('ok', {o[1], o[2], o[3], o[4], o[5], tostring(redis.call('ZCARD', k .. ':r')), tostring(redis.call('ZCARD', k .. ':l')),
  tostring(redis.call('ZCARD', k .. ':d')), o[6], o[7], o[8], o[9], o[10], o[11], o[12], dead, tostring(tonumber(redis.call('HGET', k, 'tr')) or 0)})
`;

/** ARGV q, session. Data: {how many it removed}. */
const purge = `
local q, session = ARGV[6], ARGV[7]
local k = qkey(q)
create_queue(q, nil)
settle(q)
local count = 0
for _, member in ipairs(redis.call('ZRANGE', k .. ':r', 0, -1)) do
  drop_task(q, string.sub(member, MEMBER_ID_AT))
  count = count + 1
end
for _, id in ipairs(redis.call('ZRANGE', k .. ':d', 0, -1)) do
  drop_task(q, id)
  count = count + 1
end
redis.call('DEL', k .. ':r', k .. ':d')
event('purge', q, false, false, false, false, session, count)
touch_queue(q)
return finish('ok', {tostring(count)})
`;

/** ARGV queues of this family: brings each up to date (due delays, expired leases). */
const tick = `
for i = 6, #ARGV do
  if redis.call('EXISTS', qkey(ARGV[i])) == 1 then
    settle(ARGV[i])
    watch_due(ARGV[i])
  end
end
return finish('ok')
`;

/**
 * Puts one outbox entry into its queue, in the destination's family, once: a marker keyed by the
 * entry's kind and task id makes a second delivery of the same entry (a retry after a crash
 * between this step and the entry's removal, or two managers draining at once) a no-op.
 * ARGV entry, the id for a result task, session. Status ok or dup.
 */
const deliverOutboxEntry = `
local entry, new_id, session = ARGV[6], ARGV[7], ARGV[8]
local nl = string.find(entry, '\\n', 1, true)
local meta = cjson.decode(string.sub(entry, 1, nl - 1))
local payload = string.sub(entry, nl + 1)
if not redis.call('SET', P .. 'done:' .. meta.k .. ':' .. meta.id, '1', 'NX', 'EX', 604800) then return finish('dup') end
local q = meta.q
local fields
if meta.k == 'reply' then
  create_queue(q, nil)
  fields = {'q', q, 'p', payload, 'pr', 0, 'at', meta.at, 'a', 1, 'b', string.len(payload)}
else
  create_queue(q, {'ma', 0, 'dl', ''})
  new_id = meta.id
  fields = {'q', q, 'p', payload, 'pr', meta.pr, 'at', meta.at, 'a', meta.a, 'b', string.len(payload), 'df', meta.src}
  for _, field in ipairs({'e', 'ttr', 'ma', 'rt'}) do
    if meta[field] then fields[#fields + 1] = field; fields[#fields + 1] = meta[field] end
  end
end
redis.call('HSET', tkey(new_id), unpack(fields))
redis.call('HINCRBY', qkey(q), 'tp', 1)
redis.call('HINCRBY', qkey(q), 'bytes', string.len(payload))
if meta.k == 'reply' then event('put', q, new_id, 1, false, false, session) end
make_ready(q, new_id, false)
return finish('ok', {new_id})
`;

const BODIES = { declare, ensure, put, unput, get, undo, ack, nack, touch, release, reap, peek, stats, purge, tick, deliverOutboxEntry } as const;

export type ScriptName = keyof typeof BODIES;

/** Every script, prelude included, by name. */
export const SCRIPTS: Record<ScriptName, string> = Object.fromEntries(Object.entries(BODIES).map(([name, body]) => [name, LUA_PRELUDE + body])) as Record<ScriptName, string>;
