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
-- New limits (rl, kr, kc): the ready tasks are indexed for them afresh.
for i = 1, #options, 2 do
  if options[i] == 'rl' or options[i] == 'kr' or options[i] == 'kc' then
    relimit(q)
    break
  end
end
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
 * payload, priority, delay, ttr, replyTo, maxAttempts, unique key, its scope (q or a), its ttl
 * (s); then, when some task has a rate key, one rate key per task ('' for none). Status ok, full
 * or never; ok carries, per task, the id of the task that holds its unique key ('' for a task it
 * added: spec §7.21); full and never carry {limit, maxsize, maxBytes, bytes held, bytes of the
 * tasks it would add, how many it would add}. Only the tasks it adds need room.
 */
const put = `
local q = ARGV[6]
local session = ARGV[7]
local mode = ARGV[8]
local n = tonumber(ARGV[9])
local STRIDE = 10
local k = qkey(q)
local o = redis.call('HMGET', k, 'ms', 'mb', 'bytes', 'lim')
if not o[1] then
  create_queue(q, nil)
  o = redis.call('HMGET', k, 'ms', 'mb', 'bytes', 'lim')
end
-- No limits: make_ready need not look them up (limits_of, luaCommon.ts).
if o[4] ~= '1' then LIMITS[q] = false end
settle(q)
-- settle may have moved bytes (a task dead-lettered): add_bytes noted them.
local ms, mb, held = tonumber(o[1]), tonumber(o[2]), BYTES[q] or tonumber(o[3])
-- Which tasks are duplicates of a held key (held by a task, or by an earlier task of this put).
local holders, batch = {}, {}
local fresh, bytes = 0, 0
for i = 0, n - 1 do
  local base = 10 + i * STRIDE
  local key = ARGV[base + 7]
  local holder = false
  if key ~= '' then holder = batch[key] or unique_holder(q, key) end
  if holder then
    holders[i + 1] = holder
  else
    holders[i + 1] = ''
    fresh = fresh + 1
    bytes = bytes + string.len(ARGV[base + 1])
    if key ~= '' then batch[key] = ARGV[base] end
  end
end
local function answer(status, limit) return finish(status, {limit, num(ms), num(mb), num(held), num(bytes), num(fresh)}) end
if fresh > 0 then
  if ms > 0 and fresh > ms then return answer('never', 'maxsize') end
  if mb > 0 and bytes > mb then return answer('never', 'maxBytes') end
  local limit = false
  if ms > 0 and size_of(q) + fresh > ms then limit = 'maxsize' elseif mb > 0 and held + bytes > mb then limit = 'maxBytes' end
  if limit or mode == 'probe' then return answer('full', limit or 'maxsize') end
elseif mode == 'probe' then
  return answer('full', 'maxsize')
end
redis.call('HINCRBY', k, 'tp', fresh)
add_bytes(q, bytes)
local at = num(NOW)
for i = 0, n - 1 do
  local base = 10 + i * STRIDE
  if holders[i + 1] == '' then
    local id, payload, delay = ARGV[base], ARGV[base + 1], tonumber(ARGV[base + 3]) or 0
    local fields = {'q', q, 'p', payload, 'pr', ARGV[base + 2], 'at', at, 'a', 1, 'b', string.len(payload)}
    if ARGV[base + 4] ~= '' then fields[#fields + 1] = 'ttr'; fields[#fields + 1] = ARGV[base + 4] end
    if ARGV[base + 5] ~= '' then fields[#fields + 1] = 'rt'; fields[#fields + 1] = ARGV[base + 5] end
    if ARGV[base + 6] ~= '' then fields[#fields + 1] = 'ma'; fields[#fields + 1] = ARGV[base + 6] end
    local key = ARGV[base + 7]
    if key ~= '' then
      fields[#fields + 1] = 'uk'; fields[#fields + 1] = key
      fields[#fields + 1] = 'us'; fields[#fields + 1] = ARGV[base + 8]
      if ARGV[base + 9] ~= '' then fields[#fields + 1] = 'uu'; fields[#fields + 1] = num(NOW + math.floor(tonumber(ARGV[base + 9]) * 1000 + 0.5)) end
      redis.call('HSET', k .. ':u', key, id)
    end
    local rate_key = ARGV[10 + n * STRIDE + i]
    if rate_key and rate_key ~= '' then fields[#fields + 1] = 'y'; fields[#fields + 1] = rate_key end
    event('put', q, id, 1, false, false, session)
    if delay > 0 then
      redis.call('HSET', tkey(id), unpack(fields))
      delay_task(q, id, NOW + math.floor(delay * 1000))
    else
      make_ready(q, id, false, tonumber(ARGV[base + 2]), true, fields)
    end
  end
end
return finish('ok', holders)
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
    if t[1] == 'r' then
      redis.call('ZREM', k .. ':r', t[2])
    else
      redis.call('ZREM', k .. ':d', id)
      head_changed(k .. ':d')
    end
    redis.call('HINCRBY', k, 'tp', -1)
    drop_task(q, id)
    count = count + 1
  end
end
return finish('ok', {tostring(count)})
`;

/**
 * ARGV q, max, ttr, autoAck ('1'), holder. Data: the tasks taken (task_tuple, then each one's
 * uniqueness key, scope and hold end, and when it became ready, ms); none from a paused queue
 * (its delayed tasks still come due).
 */
const get = `
local q, max, ttr, auto, holder = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9] == '1', ARGV[10]
local k = qkey(q)
-- The queue's ttr, paused flag and limits flag in one read (and whether it exists: ttr always is).
local o = redis.call('HMGET', k, 'ttr', 'pz', 'lim')
if not o[1] then
  create_queue(q, nil)
  o = redis.call('HMGET', k, 'ttr', 'pz', 'lim')
end
if o[3] ~= '1' then LIMITS[q] = false end
settle(q)
watch_due(q)
if o[2] == '1' then return finish('ok', {}) end
local lim = limits_of(q)
local popped
if lim then
  -- A queue with limits (spec 7.22): the next tasks whose keys have budget, keys taking turns.
  popped = {}
  for _ = 1, max do
    local member = take_limited(q, lim, not auto)
    if not member then break end
    popped[#popped + 1] = member
    popped[#popped + 1] = '0'
  end
else
  -- All scores are 0: ZPOPMIN takes the first members in order (priority, then sequence).
  popped = redis.call('ZPOPMIN', k .. ':r', max)
end
local tasks = {}
for j = 1, #popped, 2 do
  local id = string.sub(popped[j], MEMBER_ID_AT)
  local tk = tkey(id)
  local t = redis.call('HMGET', tk, 'q', 'p', 'a', 'pr', 'at', 'rt', 'e', 'df', 'ttr', 'ma', 'b', 'uk', 'us', 'uu', 'ra', 'y')
  local tuple = {id, t[1], t[2], t[3], t[4], t[5], false, t[6], t[7], t[8], t[9], t[10], t[12] or false, t[13] or false, t[14] or false, t[15] or t[5], t[16] or false}
  -- Leased, a key of scope queued is free; taken for good (autoAck), any key is.
  if auto or t[13] == 'q' then unique_free(q, id, t[12]) end
  if auto then
    redis.call('HINCRBY', k, 'ta', 1)
    add_bytes(q, -tonumber(t[11] or '0'))
    redis.call('DEL', tk)
    touch_queue(q)
  else
    local length = ttr or tonumber(t[9])
    if not length then length = tonumber(o[1]) end
    local lease_until = NOW + math.floor(length * 1000)
    tuple[7] = num(lease_until)
    redis.call('HSET', tk, 'st', 'l', 'h', holder, 'lu', tuple[7], 'lt', num(length))
    redis.call('ZADD', k .. ':l', lease_until, id)
    head_added(k .. ':l', lease_until)
    note_lease(id, holder)
  end
  tasks[#tasks + 1] = tuple
end
return finish('ok', tasks)
`;

/**
 * A delivery the session could not take: the tasks go back to the head, attempt unchanged.
 * ARGV q, holder, n, then per task: id, payload, priority, enqueuedAt, attempt, replyTo,
 * lastError, deadLetteredFrom, ttr, maxAttempts, unique key, scope, hold end, rate key (what an
 * autoAck get removed, to put it back; the task takes its key back if it is free, as on one
 * manager, and its rate key places it among its key's tasks again).
 */
const undo = `
local q, holder, n = ARGV[6], ARGV[7], tonumber(ARGV[8])
local k = qkey(q)
create_queue(q, nil)
for i = n, 1, -1 do
  local base = 9 + (i - 1) * 14
  local id = ARGV[base]
  local state = redis.call('HMGET', tkey(id), 'st', 'h')
  if state[1] == 'l' and state[2] == holder then
    end_lease(q, id, holder)
    unique_retake(q, id)
    make_ready(q, id, true)
  elseif not state[1] then
    local payload = ARGV[base + 1]
    local fields = {'q', q, 'p', payload, 'pr', ARGV[base + 2], 'at', ARGV[base + 3], 'a', ARGV[base + 4], 'b', string.len(payload)}
    local optional = {'rt', 'e', 'df', 'ttr', 'ma', 'uk', 'us', 'uu', 'y'}
    for j, field in ipairs(optional) do
      if ARGV[base + 4 + j] ~= '' then fields[#fields + 1] = field; fields[#fields + 1] = ARGV[base + 4 + j] end
    end
    redis.call('HSET', tkey(id), unpack(fields))
    add_bytes(q, string.len(payload))
    redis.call('HINCRBY', k, 'ta', -1)
    unique_retake(q, id)
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
  local q = read_held(ARGV[i])[1]
  if q and not settled[q] then
    settled[q] = true
    -- An expiry changes tasks read already: read them again.
    if settle(q) then HELD = {} end
    watch_due(q)
  end
end
local seen, missing = {}, {}
for i = ${firstArg}, #ARGV, ${stride} do
  local id = ARGV[i]
  local t = read_held(id)
  if seen[id] or not (t[2] == 'l' and t[3] == holder) then missing[#missing + 1] = id end
  seen[id] = true
end
if #missing > 0 then return finish('unknown', missing) end
`;

/**
 * ARGV holder, check-only ('1'), then per ack: id, result ('' for none), and the id of its result
 * task when the manager knows the replyTo queue's keys are on this node (one Redis node, or the
 * same family): the result is put there in this script; '' sends it through the outbox.
 * Data: {outbox length}.
 */
const ack = `
local holder = ARGV[6]
${checkHeld(8, 3)}
if ARGV[7] == '1' then return finish('ok', {'0'}) end
for i = 8, #ARGV, 3 do
  local id, result, result_id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local t = read_held(id)
  local q = t[1]
  end_lease(q, id, holder)
  redis.call('HINCRBY', qkey(q), 'ta', 1)
  event('ack', q, id, t[4], false, false, holder)
  if t[5] and result ~= '' then
    local reply = '{"taskId":' .. cjson.encode(id) .. ',"result":' .. result .. '}'
    if result_id ~= '' then
      put_result(t[5], result_id, reply, num(NOW), holder)
    else
      to_outbox({k = 'reply', q = t[5], id = id, src = q, at = num(NOW)}, reply)
    end
  end
  drop_task(q, id, {t[6], t[7]})
end
return finish('ok', {outbox_length()})
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
return finish('ok', {outbox_length()})
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
  head_changed(qkey(t[1]) .. ':l')
  head_added(qkey(t[1]) .. ':l', lease_until)
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
return finish('ok', {tostring(count), outbox_length()})
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
return finish('ok', {tostring(count), outbox_length()})
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
 * deadLetter, ready, leased, delayed, bytes, emptiness counter, the five totals, the size of
 * the dead-letter queue when it is in this family ('' otherwise), released, paused ('1' or '0');
 * then on a queue with limits: rate, keyRate, keyConcurrency and how many ready tasks are
 * throttled.
 */
const stats = `
local function limit_stats(q)
  local lim = limits_of(q)
  if not lim then return {} end
  local o = redis.call('HMGET', qkey(q), 'rl', 'kr', 'kc')
  return {o[1] or '', o[2] or '', o[3] or '0', tostring(throttled(q, lim))}
end
local q = ARGV[6]
local k = qkey(q)
if redis.call('EXISTS', k) == 0 then return finish('missing') end
settle(q)
watch_due(q)
local o = redis.call('HMGET', k, 'ms', 'mb', 'ttr', 'ma', 'dl', 'bytes', 'emp', 'tp', 'ta', 'tn', 'te', 'td')
local dead = ''
if o[5] ~= '' and family_of(o[5]) == FAMILY and redis.call('EXISTS', qkey(o[5])) == 1 then dead = tostring(size_of(o[5])) end
return finish('ok', {o[1], o[2], o[3], o[4], o[5], tostring(redis.call('ZCARD', k .. ':r')), tostring(redis.call('ZCARD', k .. ':l')),
  tostring(redis.call('ZCARD', k .. ':d')), o[6], o[7], o[8], o[9], o[10], o[11], o[12], dead, tostring(tonumber(redis.call('HGET', k, 'tr')) or 0),
  redis.call('HGET', k, 'pz') == '1' and '1' or '0', unpack(limit_stats(q))})
`;

/**
 * queue/pause and queue/resume (spec §7.19): the queue's 'pz' field is '1' while it is paused.
 * ARGV q, paused ('1' or '0'), session. A change is an event and a wake-up on the family's
 * channel (finish), so a resume serves the gets waiting on every manager. Data: {'1'} when it
 * changed the queue.
 */
const pause = `
local q, paused, session = ARGV[6], ARGV[7] == '1', ARGV[8]
local k = qkey(q)
create_queue(q, nil)
local was = redis.call('HGET', k, 'pz') == '1'
if was == paused then return finish('ok', {'0'}) end
if paused then redis.call('HSET', k, 'pz', '1') else redis.call('HDEL', k, 'pz') end
event(paused and 'paused' or 'resumed', q, false, false, false, false, session)
touch_queue(q)
return finish('ok', {'1'})
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
if limits_of(q) then drop_index(k) end
head_changed(k .. ':d')
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
if meta.k == 'reply' then
  put_result(q, new_id, payload, meta.at, session)
  return finish('ok', {new_id})
end
create_queue(q, {'ma', 0, 'dl', ''})
new_id = meta.id
local fields = {'q', q, 'p', payload, 'pr', meta.pr, 'at', meta.at, 'a', meta.a, 'b', string.len(payload), 'df', meta.src}
for _, field in ipairs({'e', 'ttr', 'ma', 'rt'}) do
  if meta[field] then fields[#fields + 1] = field; fields[#fields + 1] = meta[field] end
end
redis.call('HSET', tkey(new_id), unpack(fields))
redis.call('HINCRBY', qkey(q), 'tp', 1)
add_bytes(q, string.len(payload))
make_ready(q, new_id, false)
return finish('ok', {new_id})
`;

/**
 * Creates or replaces a schedule (spec §5.25) in its queue's family: a new revision, so a tick
 * claimed on the old one fails; its last run stays. ARGV name, definition (JSON), next (ms).
 * Status ok; data {'1'} when it created the schedule.
 */
const scheduleSet = `
local skey = P .. 's:' .. ARGV[6]
local created = redis.call('EXISTS', skey) == 0
redis.call('HINCRBY', skey, 'rev', 1)
redis.call('HSET', skey, 'def', ARGV[7], 'next', ARGV[8])
return finish('ok', {created and '1' or '0'})
`;

/**
 * One tick of a schedule, claimed and run at once: if the schedule still has the revision and
 * next run time this manager read (no other manager ran this tick, nobody replaced it) and the
 * tick is due by Redis's clock, its next run time moves on and its task is put (the put script
 * below, unchanged); the put's outcome is the schedule's last run. So however many managers
 * wake for a tick, one puts its task. ARGV as put's with one task, then (the last four, read
 * from the end so put's per-task arguments may grow) name, rev, next, new next. Status: the
 * put's (ok, full, never), lost (data {rev, next} as they are), or early.
 */
const scheduleTickClaim = `
local last = #ARGV
local skey = P .. 's:' .. ARGV[last - 3]
local current = redis.call('HMGET', skey, 'rev', 'next')
if current[1] ~= ARGV[last - 2] or current[2] ~= ARGV[last - 1] then return finish('lost', {current[1] or '', current[2] or ''}) end
if NOW < tonumber(ARGV[last - 1]) then return finish('early') end
redis.call('HSET', skey, 'next', ARGV[last])
local finish_put = finish
local function finish(status, data)
  -- put answers each task's key holder: '' when it added the task, an id when its key is held.
  if status == 'ok' and data and data[1] == '' then
    redis.call('HSET', skey, 'lastAt', num(NOW), 'lastTask', ARGV[10])
    redis.call('HDEL', skey, 'lastSkipped')
  else
    redis.call('HSET', skey, 'lastAt', num(NOW), 'lastSkipped', status)
    redis.call('HDEL', skey, 'lastTask')
  end
  return finish_put(status, data)
end
`;

/**
 * A change followed, in the same script, by gets for requests on this manager (redisQueues.ts:
 * a put hands its task to the first get waiting here; an ack its result to a get waiting on the
 * replyTo queue, and the next tasks to its own worker when the ack asked for them): one round
 * trip instead of several, and no wake-up to serve those gets. The change's body and each get's
 * run as functions, each on its own arguments (ARGV shadowed): ARGV the number of gets, then
 * per get q, max, ttr, autoAck, holder, then the change's own arguments. Status: the change's;
 * data: {the change's data, then each get's tasks (none when the change failed)}.
 */
const thenGets = (change: string) => `
local finish_both = finish
local function finish(status, data) return {status, data or {}} end
local function with_args(from, to)
  local args = {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]}
  for i = from, to do args[#args + 1] = ARGV[i] end
  return args
end
local function run_change(ARGV)
${change}
end
local function run_get(ARGV)
  -- A get's queue may be of another family (an ack's replyTo, on the same node): its keys.
  P = 'tw:{' .. family_of(ARGV[6]) .. '}:'
${get}
end
local gets = tonumber(ARGV[6])
local changed = run_change(with_args(7 + 5 * gets, #ARGV))
local data = {changed[2]}
for j = 1, gets do
  local from = 7 + 5 * (j - 1)
  data[j + 1] = changed[1] == 'ok' and run_get(with_args(from, from + 4))[2] or {}
end
return finish_both(changed[1], data)
`;

const BODIES = {
  declare,
  ensure,
  put,
  putThenGet: thenGets(put),
  unput,
  get,
  undo,
  ack,
  ackThenGet: thenGets(ack),
  nack,
  touch,
  release,
  reap,
  peek,
  stats,
  pause,
  purge,
  tick,
  deliverOutboxEntry,
  scheduleSet,
  scheduleTick: scheduleTickClaim + put,
} as const;

export type ScriptName = keyof typeof BODIES;

/** Every script, prelude included, by name. */
export const SCRIPTS: Record<ScriptName, string> = Object.fromEntries(Object.entries(BODIES).map(([name, body]) => [name, LUA_PRELUDE + body])) as Record<ScriptName, string>;
