// The Lua every script starts with: the key names of one family (keys.ts says why a family), the
// time from Redis, and the moves between a task's states that several scripts share. Each
// script is this prelude plus its own body (scripts.ts), loaded once and called by SHA.
//
// Conventions:
// - KEYS[1] is `tw:{family}:m:<manager id>`: it routes the call to the family's slot on a Cluster
//   and names the manager that runs the script (its wake-ups say so, and it skips its own); the
//   keys are built here from ARGV[1], the family, and all carry the hash tag `{family}`.
// - ARGV[1..5]: family, default ttr (s), default maxAttempts, retry back-off base and cap (s).
//   A script's own arguments start at ARGV[6].
// - Payloads and results are strings, stored and returned as they came: never decoded.
// - The reply is {status, now, nextDue, events, data, bytes, touched}: nextDue is the earliest
//   delay or lease end (ms) of the queues the script touched, '' when none; events are the
//   changes made, in order; bytes: each queue touched, its payload bytes, ready tasks and ready
//   version now (finish); touched: each
//   queue it published a wake-up for and its kind, 'r' or 'f' (finish), for the manager that ran
//   it to wake its own waiters at once (its subscriber skips its own wake-ups).
// - A task's hash holds: q queue, p payload, pr priority, at enqueuedAt (ms), a attempt, b bytes,
//   st state (r ready, d delayed, l leased), rk its member in the ready set, ra when it became
//   ready (ms, for the queue-wait metric), and when set: ttr,
//   ma maxAttempts, rt replyTo, e lastError, df deadLetteredFrom, h holder, lu leaseUntil,
//   lt the lease's length (s), uk its uniqueness key, us the key's scope (q queued, a active), uu
//   when the key stops being held (ms). A family's set `held:<manager>` holds the ids its sessions lease.
// - A queue's hash `q:<queue>:u` maps each uniqueness key held in the queue to its task's id
//   (spec §7.21); an entry leaves with its task's scope (unique_free), so it never outlives the task.
// - A queue's hash holds its options (ms maxsize, mb maxBytes, ttr, ma maxAttempts, dl deadLetter,
//   '' for none), its counters (seq, hseq: the tail and head sequences of the ready set; bytes;
//   emp: bumped each time the size is 0 after a change, for join), totals (tp, ta, tn, te, td, tr)
//   and pz '1' while the queue is paused (scripts.ts: pause).

export const LUA_PRELUDE = `
local FAMILY = ARGV[1]
local P = 'tw:{' .. FAMILY .. '}:'
-- The manager running the script: its wake-ups ('<manager>/<kind><version>/<queue>', finish) name it, and it skips its own.
local MANAGER = string.sub(KEYS[1], string.len(P) + 3)
local DEFAULT_TTR = tonumber(ARGV[2])
local DEFAULT_MAX_ATTEMPTS = tonumber(ARGV[3])
local BACKOFF_BASE = tonumber(ARGV[4])
local BACKOFF_CAP = tonumber(ARGV[5])
local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + math.floor(tonumber(T[2]) / 1000)
local EVENTS = {}
local TOUCHED = {}
local TOUCHED_LIST = {}
local DUE = {}
local DUE_LIST = {}
-- The earliest score of a delayed or leased set (by key) as this script last knew it: a number,
-- false when empty, nil when unknown. settle reads them, finish reports the earliest without
-- reading again the sets nothing changed. Of a set whose head it does not know, a script
-- reports the earliest score it added (ADDED; a head it knew before a removal counts as added:
-- reporting a deadline that is gone costs a timer's tick), and reads the head only after
-- settle took due members out (REREAD: the manager's timer chain goes on from there). Every
-- deadline is reported by the script that made it, so the head need not be read otherwise.
local HEADS = {}
local ADDED = {}
local REREAD = {}
local function note_added(key, score)
  if not ADDED[key] or score < ADDED[key] then ADDED[key] = score end
end
local function head_added(key, score)
  local h = HEADS[key]
  if h ~= nil then HEADS[key] = (h == false or score < h) and score or h else note_added(key, score) end
end
local function head_changed(key)
  local h = HEADS[key]
  if h then note_added(key, h) end
  HEADS[key] = nil
end
-- Each queue's payload bytes as the script's last HINCRBY of them answered (finish reads the others).
local BYTES = {}
-- Whether the script appended to the family's outbox (only then is its length worth asking).
local OUTBOXED = false

local function family_of(q)
  if string.len(q) > 5 and string.sub(q, -5) == '.dead' then return string.sub(q, 1, -6) end
  return q
end
-- A queue's key carries its own family's tag: a result put straight into a replyTo queue of
-- another family (ack, when both share a node) lives under that family's keys.
local QKEYS = {}
local function qkey(q)
  local k = QKEYS[q]
  if not k then
    k = 'tw:{' .. family_of(q) .. '}:q:' .. q
    QKEYS[q] = k
  end
  return k
end
local function tkey(id) return P .. 't:' .. id end
local function num(n) return string.format('%.17g', n) end

-- The script's reply reports the earliest delay or lease end of these queues.
local function watch_due(q)
  if not DUE[q] then
    DUE[q] = true
    DUE_LIST[#DUE_LIST + 1] = q
  end
end

local function touch_queue(q)
  watch_due(q)
  if not TOUCHED[q] then
    TOUCHED[q] = true
    TOUCHED_LIST[#TOUCHED_LIST + 1] = q
  end
end

local function event(kind, q, id, attempt, payload, err, session, count)
  EVENTS[#EVENTS + 1] = {kind, q, id or false, attempt and tostring(attempt) or false, payload or false, err or false, session or false, count and tostring(count) or false}
end


-- Creates the queue with the defaults (and options, a flat list of field, value) unless it exists.
local function create_queue(q, options)
  local k = qkey(q)
  if redis.call('EXISTS', k) == 1 then return false end
  local dead = string.len(q) > 5 and string.sub(q, -5) == '.dead'
  redis.call('HSET', k, 'ms', 0, 'mb', 0, 'ttr', num(DEFAULT_TTR), 'ma', dead and 0 or num(DEFAULT_MAX_ATTEMPTS), 'dl', dead and '' or (q .. '.dead'),
    'seq', 0, 'hseq', 0, 'bytes', 0, 'emp', 0, 'tp', 0, 'ta', 0, 'tn', 0, 'te', 0, 'td', 0)
  if options and #options > 0 then redis.call('HSET', k, unpack(options)) end
  return true
end

local function size_of(q)
  local k = qkey(q)
  return redis.call('ZCARD', k .. ':r') + redis.call('ZCARD', k .. ':d') + redis.call('ZCARD', k .. ':l')
end

-- The ready set orders by member: priority (higher first), then sequence, then id. Tasks that
-- become ready take the next tail sequence; a task taken back from a failed delivery takes the
-- next head sequence (counting down), so it is served first again.
local function ready_member(priority, seq, id)
  return string.format('%07d', 1000000 - priority) .. string.format('%016.0f', seq + 5000000000000000) .. ':' .. id
end
local MEMBER_ID_AT = 7 + 16 + 2

-- Rate limits (spec 7.22, docs/redis.md). A queue with limits has them in its hash (rl rate and
-- kr keyRate as 'max period [burst]', kc keyConcurrency) and lim = '1'; then its ready tasks
-- are also indexed per rate key (a task's field y): k:g:<key> the key's ready members (ordered
-- as in k:r), k:line the round-robin line of keys with budget (a list), k:wait the keys over
-- their rate by when budget returns (a zset), k:cap the keys at keyConcurrency (a set), k:pl
-- where each key with ready tasks is (e, w or c), k:kl each key's leased tasks; k:tat:<key> a
-- key's GCRA TAT (ms), expiring at that time (a TAT in the past is as good as none); the
-- queue's own TAT is its hash's field gt. A queue without limits reads only its lim field.
local LIMITS = {}
local BUDGET_AT = false
local function gcra_of(text)
  if not text or text == '' then return false end
  local max, period, burst = string.match(text, '^(%S+) (%S+) ?(%S*)$')
  max, period, burst = tonumber(max), tonumber(period), tonumber(burst) or 1
  local interval = period * 1000 / max
  return {interval = interval, tolerance = (math.min(burst, max) - 1) * interval}
end
local function limits_of(q)
  local l = LIMITS[q]
  if l == nil then
    l = false
    if redis.call('HGET', qkey(q), 'lim') == '1' then
      local o = redis.call('HMGET', qkey(q), 'rl', 'kr', 'kc')
      local kr, kc = gcra_of(o[2]), tonumber(o[3] or '0') or 0
      l = {rate = gcra_of(o[1]), keyRate = kr, kc = kc, keyed = (kr ~= false) or kc > 0}
    end
    LIMITS[q] = l
  end
  return l
end
local function budget_at(at)
  if at and ((not BUDGET_AT) or at < BUDGET_AT) then BUDGET_AT = at end
end
local function key_tat(k, key)
  return tonumber(redis.call('GET', k .. ':tat:' .. key)) or 0
end
-- Puts a key that has ready tasks where it belongs; check: its rate is checked now (else when it reaches the head of the line).
local function place_key(k, lim, key, check)
  if key ~= '' and lim.kc > 0 and (tonumber(redis.call('HGET', k .. ':kl', key)) or 0) >= lim.kc then
    redis.call('SADD', k .. ':cap', key)
    redis.call('HSET', k .. ':pl', key, 'c')
    return
  end
  if check and key ~= '' and lim.keyRate then
    local at = key_tat(k, key) - lim.keyRate.tolerance
    if at > NOW then
      redis.call('ZADD', k .. ':wait', at, key)
      redis.call('HSET', k .. ':pl', key, 'w')
      return
    end
  end
  redis.call('RPUSH', k .. ':line', key)
  redis.call('HSET', k .. ':pl', key, 'e')
end
local function index_ready(q, lim, id, member)
  local k = qkey(q)
  local key = lim.keyed and (redis.call('HGET', tkey(id), 'y') or '') or ''
  redis.call('ZADD', k .. ':g:' .. key, 0, member)
  if not redis.call('HGET', k .. ':pl', key) then place_key(k, lim, key, false) end
end
-- A lease of a keyed queue ended: its key has one place more under keyConcurrency.
local function lease_ended(q, lim, id)
  local key = redis.call('HGET', tkey(id), 'y')
  if not key then return end
  local k = qkey(q)
  if redis.call('HINCRBY', k .. ':kl', key, -1) <= 0 then redis.call('HDEL', k .. ':kl', key) end
  if redis.call('HGET', k .. ':pl', key) == 'c' then
    redis.call('SREM', k .. ':cap', key)
    place_key(k, lim, key, false)
  end
end
-- The next ready member of a limited queue whose key, and the queue, have budget now (taken out
-- of k:r, budgets moved); or false, having noted when budget returns (false: only
-- keyConcurrency holds the tasks back, and a lease's end wakes the waiters).
local function take_limited(q, lim, leases)
  local k = qkey(q)
  local gt = 0
  if lim.rate then
    gt = tonumber(redis.call('HGET', k, 'gt')) or 0
    if gt - lim.rate.tolerance > NOW then
      budget_at(gt - lim.rate.tolerance)
      return false
    end
  end
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', k .. ':wait', '-inf', NOW)) do
    redis.call('ZREM', k .. ':wait', key)
    redis.call('RPUSH', k .. ':line', key)
    redis.call('HSET', k .. ':pl', key, 'e')
  end
  while true do
    local key = redis.call('LPOP', k .. ':line')
    if not key then
      local first = redis.call('ZRANGE', k .. ':wait', 0, 0, 'WITHSCORES')
      if first[2] then budget_at(tonumber(first[2])) end
      return false
    end
    local gk = k .. ':g:' .. key
    local tat = false
    if key ~= '' and lim.keyRate then tat = key_tat(k, key) end
    if tat and tat - lim.keyRate.tolerance > NOW then
      place_key(k, lim, key, true)
    else
      local member = redis.call('ZPOPMIN', gk)[1]
      -- A member no longer in k:r left without a take (unput): skip it.
      if member and redis.call('ZREM', k .. ':r', member) == 1 then
        if lim.rate then redis.call('HSET', k, 'gt', num(math.max(gt, NOW) + lim.rate.interval)) end
        if tat then
          local next_tat = math.max(tat, NOW) + lim.keyRate.interval
          redis.call('SET', k .. ':tat:' .. key, num(next_tat), 'PXAT', math.ceil(next_tat))
        end
        if leases and key ~= '' and lim.kc > 0 then redis.call('HINCRBY', k .. ':kl', key, 1) end
        if redis.call('EXISTS', gk) == 1 then place_key(k, lim, key, true) else redis.call('HDEL', k .. ':pl', key) end
        return member
      end
      if member then redis.call('LPUSH', k .. ':line', key) else redis.call('HDEL', k .. ':pl', key) end
    end
  end
end
-- Drops a limited queue's index of ready tasks (its TATs and leased counts stay).
local function drop_index(k)
  for _, key in ipairs(redis.call('HKEYS', k .. ':pl')) do redis.call('DEL', k .. ':g:' .. key) end
  redis.call('DEL', k .. ':line', k .. ':wait', k .. ':cap', k .. ':pl')
end
-- The queue's limits changed: index its ready tasks (and count its leases per key) afresh, or drop the index.
local function relimit(q)
  local k = qkey(q)
  drop_index(k)
  redis.call('DEL', k .. ':kl')
  local o = redis.call('HMGET', k, 'rl', 'kr', 'kc')
  if (o[1] or '') == '' and (o[2] or '') == '' and (tonumber(o[3] or '0') or 0) == 0 then
    redis.call('HDEL', k, 'lim', 'gt')
    LIMITS[q] = false
    return
  end
  redis.call('HSET', k, 'lim', '1')
  LIMITS[q] = nil
  local lim = limits_of(q)
  if lim.kc > 0 then
    for _, id in ipairs(redis.call('ZRANGE', k .. ':l', 0, -1)) do
      local key = redis.call('HGET', tkey(id), 'y')
      if key then redis.call('HINCRBY', k .. ':kl', key, 1) end
    end
  end
  for _, member in ipairs(redis.call('ZRANGE', k .. ':r', 0, -1)) do index_ready(q, lim, string.sub(member, MEMBER_ID_AT), member) end
end
-- How many ready tasks wait for budget rather than for a worker.
local function throttled(q, lim)
  local k = qkey(q)
  local ready = redis.call('ZCARD', k .. ':r')
  if ready == 0 then return 0 end
  if lim.rate and (tonumber(redis.call('HGET', k, 'gt')) or 0) - lim.rate.tolerance > NOW then return ready end
  local held = 0
  for _, key in ipairs(redis.call('SMEMBERS', k .. ':cap')) do held = held + redis.call('ZCARD', k .. ':g:' .. key) end
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', k .. ':wait', '(' .. NOW, '+inf')) do held = held + redis.call('ZCARD', k .. ':g:' .. key) end
  return held
end

-- priority: the task's, when the caller knows it; fresh: a task just written, with no lease fields
-- to clear; fields: a new task's fields (field, value, ...), written with its ready state in one HSET.
local function make_ready(q, id, at_head, priority, fresh, fields)
  local k = qkey(q)
  local tk = tkey(id)
  local seq = at_head and redis.call('HINCRBY', k, 'hseq', -1) or redis.call('HINCRBY', k, 'seq', 1)
  local member = ready_member(priority or tonumber(redis.call('HGET', tk, 'pr')), seq, id)
  fields = fields or {}
  fields[#fields + 1] = 'st'; fields[#fields + 1] = 'r'
  fields[#fields + 1] = 'rk'; fields[#fields + 1] = member
  fields[#fields + 1] = 'ra'; fields[#fields + 1] = num(NOW)
  redis.call('HSET', tk, unpack(fields))
  if not fresh then redis.call('HDEL', tk, 'h', 'lu', 'lt') end
  redis.call('ZADD', k .. ':r', 0, member)
  local lim = limits_of(q)
  if lim then index_ready(q, lim, id, member) end
  touch_queue(q)
end

-- Each manager's leases, per family, so survivors can find a dead manager's (reap in scripts.ts).
local function manager_of(holder)
  local slash = string.find(holder, '/', 1, true)
  return slash and string.sub(holder, 1, slash - 1) or holder
end
local function note_lease(id, holder) redis.call('SADD', P .. 'held:' .. manager_of(holder), id) end
local function end_lease(q, id, holder)
  local lim = limits_of(q)
  if lim and lim.kc > 0 then lease_ended(q, lim, id) end
  redis.call('ZREM', qkey(q) .. ':l', id)
  head_changed(qkey(q) .. ':l')
  if holder then redis.call('SREM', P .. 'held:' .. manager_of(holder), id) end
end

local function delay_task(q, id, ready_at)
  redis.call('HSET', tkey(id), 'st', 'd')
  redis.call('HDEL', tkey(id), 'h', 'lu', 'lt')
  redis.call('ZADD', qkey(q) .. ':d', ready_at, id)
  head_added(qkey(q) .. ':d', ready_at)
  touch_queue(q)
end

-- The task leaves for good (acked, purged, dropped): its bytes no longer count.
local function add_bytes(q, b)
  BYTES[q] = redis.call('HINCRBY', qkey(q), 'bytes', b)
end

-- The task holding a uniqueness key in the queue now, or false: a hold whose time (uu) is up is dropped.
local function unique_holder(q, key)
  local uk = qkey(q) .. ':u'
  local id = redis.call('HGET', uk, key)
  if not id then return false end
  local until_ms = redis.call('HGET', tkey(id), 'uu')
  if until_ms and tonumber(until_ms) <= NOW then
    redis.call('HDEL', uk, key)
    return false
  end
  return id
end

-- The task left its key's scope or ended: its key (uk) is free again if the task still holds it.
local function unique_free(q, id, key)
  if not key then return end
  local uk = qkey(q) .. ':u'
  if redis.call('HGET', uk, key) == id then redis.call('HDEL', uk, key) end
end

-- The task is back in its queue (a retry, a lease that ended): it holds its key again unless
-- another task took it meanwhile or its time is up.
local function unique_retake(q, id)
  local t = redis.call('HMGET', tkey(id), 'uk', 'uu')
  if not t[1] or (t[2] and tonumber(t[2]) <= NOW) then return end
  if not unique_holder(q, t[1]) then redis.call('HSET', qkey(q) .. ':u', t[1], id) end
end

-- known: the task's {b, uk} when the caller read them already.
local function drop_task(q, id, known)
  local t = known or redis.call('HMGET', tkey(id), 'b', 'uk')
  local b = tonumber(t[1] or '0')
  unique_free(q, id, t[2])
  add_bytes(q, -b)
  redis.call('DEL', tkey(id))
  touch_queue(q)
end

local function attempts_used_up(q, id)
  local t = redis.call('HMGET', tkey(id), 'a', 'ma', 'df')
  local own = (not t[3]) and t[2] or false
  local max = tonumber(own or redis.call('HGET', qkey(q), 'ma'))
  return max > 0 and tonumber(t[1]) >= max
end

-- An entry for another family's queue (a result for replyTo, a task for a dead-letter queue there): the meta (our own fields, as JSON) and the payload as it is.
local function to_outbox(meta, payload)
  redis.call('RPUSH', P .. 'outbox', cjson.encode(meta) .. '\\n' .. payload)
  OUTBOXED = true
end

-- The family's outbox length for the manager to drain, when this script added to it.
local function outbox_length()
  return OUTBOXED and tostring(redis.call('LLEN', P .. 'outbox')) or '0'
end

-- A result for a replyTo queue: a new task there, written under the queue's own family (P is
-- switched while it is written). The direct route of an ack, and the outbox's second step.
local function put_result(q, id, payload, at, session)
  local saved = P
  P = 'tw:{' .. family_of(q) .. '}:'
  create_queue(q, nil)
  local b = string.len(payload)
  redis.call('HINCRBY', qkey(q), 'tp', 1)
  add_bytes(q, b)
  event('put', q, id, 1, payload, false, session)
  make_ready(q, id, false, 0, true, {'q', q, 'p', payload, 'pr', 0, 'at', at, 'a', 1, 'b', b})
  P = saved
end

-- Moves a task whose attempts are used up (or nacked with retry: false) to its dead-letter queue.
local function bury(q, id, session)
  local k = qkey(q)
  local tk = tkey(id)
  redis.call('HINCRBY', k, 'td', 1)
  -- A dead task holds no uniqueness key, in its old queue or the dead-letter queue.
  unique_free(q, id, redis.call('HGET', tk, 'uk'))
  redis.call('HDEL', tk, 'uk', 'us', 'uu')
  local t = redis.call('HMGET', tk, 'p', 'a', 'e', 'b', 'pr', 'at', 'ttr', 'ma', 'rt')
  event('dead', q, id, t[2], t[1], t[3], session)
  local target = redis.call('HGET', k, 'dl')
  if (not target) or target == '' or target == q then
    drop_task(q, id)
    return
  end
  if family_of(target) ~= FAMILY then
    to_outbox({k = 'dead', q = target, id = id, src = q, a = t[2], e = t[3] or nil, pr = t[5], at = t[6], ttr = t[7] or nil, ma = t[8] or nil, rt = t[9] or nil}, t[1])
    drop_task(q, id)
    return
  end
  create_queue(target, {'ma', 0, 'dl', ''})
  local b = tonumber(t[4])
  add_bytes(q, -b)
  add_bytes(target, b)
  redis.call('HINCRBY', qkey(target), 'tp', 1)
  redis.call('HSET', tk, 'q', target, 'df', q)
  touch_queue(q)
  make_ready(target, id, false)
end

-- After a failed attempt: again after delay seconds with attempt + 1, or dead-lettered.
local function retry_or_bury(q, id, delay, session, at_head)
  if attempts_used_up(q, id) then
    bury(q, id, session)
    return
  end
  redis.call('HINCRBY', tkey(id), 'a', 1)
  unique_retake(q, id)
  if delay > 0 then delay_task(q, id, NOW + math.floor(delay * 1000)) else make_ready(q, id, at_head) end
end

-- A lease ended without ack or nack: an expiry ('lease expired') back at the tail of its
-- priority, a release (the session ended or stopped, its manager shut down or is gone) at the
-- head, as the engine does (spec 7.3). 'te' counts both, 'tr' the releases.
local function lose_lease(q, id, reason, stopping)
  local tk = tkey(id)
  local t = redis.call('HMGET', tk, 'h', 'a')
  local released = reason ~= 'lease expired'
  end_lease(q, id, t[1])
  redis.call('HINCRBY', qkey(q), 'te', 1)
  if released then redis.call('HINCRBY', qkey(q), 'tr', 1) end
  event(released and 'released' or 'expired', q, id, t[2], false, reason, t[1])
  if stopping then
    redis.call('HINCRBY', tk, 'a', 1)
    unique_retake(q, id)
    make_ready(q, id, released)
  else
    retry_or_bury(q, id, 0, t[1], released)
  end
end

-- Brings the queue up to date: delayed tasks that came due are ready, expired leases end. True
-- when it changed anything.
-- The members of a delayed or leased set whose time has come; the set's first score is all it reads when none has.
local function due_members(key)
  -- Known already in this script (a put and the get it runs settle the same queue): nothing due.
  local h = HEADS[key]
  if h == false or (h and h > NOW) then return {} end
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if not first[2] then
    HEADS[key] = false
    return {}
  end
  if tonumber(first[2]) > NOW then
    HEADS[key] = tonumber(first[2])
    return {}
  end
  HEADS[key] = nil
  REREAD[key] = true
  return redis.call('ZRANGEBYSCORE', key, '-inf', NOW, 'LIMIT', 0, 1000)
end

local function settle(q)
  local k = qkey(q)
  local due = due_members(k .. ':d')
  for _, id in ipairs(due) do
    redis.call('ZREM', k .. ':d', id)
    make_ready(q, id, false)
  end
  local expired = due_members(k .. ':l')
  for _, id in ipairs(expired) do lose_lease(q, id, 'lease expired', false) end
  if #due > 0 or #expired > 0 then
    touch_queue(q)
    return true
  end
  return false
end

-- The wire form of a task: {id, queue, payload, attempt, priority, enqueuedAt, leaseUntil,
-- replyTo, lastError, deadLetteredFrom, ttr, maxAttempts}; false where a field is absent.
local function task_tuple(id)
  local t = redis.call('HMGET', tkey(id), 'q', 'p', 'a', 'pr', 'at', 'lu', 'rt', 'e', 'df', 'ttr', 'ma', 'st')
  return {id, t[1], t[2], t[3], t[4], t[5], (t[12] == 'l') and t[6] or false, t[7], t[8], t[9], t[10], t[11]}
end

-- A task's queue, state, holder, attempt, replyTo, bytes and uniqueness key, read once per script for the checks of
-- ack and its change (checkHeld in scripts.ts empties it when settle changed anything).
local HELD = {}
local function read_held(id)
  local t = HELD[id]
  if not t then
    t = redis.call('HMGET', tkey(id), 'q', 'st', 'h', 'a', 'rt', 'b', 'uk')
    HELD[id] = t
  end
  return t
end

local function holds(id, holder)
  local t = redis.call('HMGET', tkey(id), 'st', 'h', 'q')
  if t[1] == 'l' and t[2] == holder then return t[3] end
  return false
end

-- Every queue the script touched (each exists: a script touches only queues it created or found
-- tasks of): bump its emptiness counter if it is empty, wake the waiters of other managers, and
-- report the earliest deadline among them.
local function finish(status, data)
  local next_due = false
  -- Each queue's ready tasks now, and its ready version: seq - hseq, which grows by one each time
  -- a task becomes ready (make_ready is the only way into the ready set). A manager that saw a
  -- queue with none at version v knows it still has none until a wake-up says a later version.
  local READY, VERSION = {}, {}
  local function look(q)
    if READY[q] ~= nil then return end
    local k = qkey(q)
    READY[q] = redis.call('ZCARD', k .. ':r')
    local o = redis.call('HMGET', k, 'seq', 'hseq', 'bytes')
    VERSION[q] = num((tonumber(o[1]) or 0) - (tonumber(o[2]) or 0))
    if BYTES[q] == nil then BYTES[q] = tonumber(o[3]) or 0 end
  end
  local touched = {}
  for _, q in ipairs(TOUCHED_LIST) do
    local k = qkey(q)
    look(q)
    local ready = READY[q]
    if ready == 0 and redis.call('ZCARD', k .. ':l') == 0 and redis.call('ZCARD', k .. ':d') == 0 then
      redis.call('HINCRBY', k, 'emp', 1)
    end
    -- 'r': it has ready tasks, for waiting gets (and puts and joins); 'f': none, so only waiting
    -- puts (room may have been made) and joins (it may be empty) need to look again.
    local kind = ready > 0 and 'r' or 'f'
    redis.call('PUBLISH', 'tw:{' .. family_of(q) .. '}:wake', MANAGER .. '/' .. kind .. VERSION[q] .. '/' .. q)
    touched[#touched + 1] = q
    touched[#touched + 1] = kind
  end
  for _, q in ipairs(DUE_LIST) do
    for _, suffix in ipairs({':d', ':l'}) do
      local key = qkey(q) .. suffix
      local h = HEADS[key]
      if h == nil then
        h = false
        if REREAD[key] then
          local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
          h = first[2] and tonumber(first[2]) or false
        end
        if ADDED[key] and ((not h) or ADDED[key] < h) then h = ADDED[key] end
      end
      if h and ((not next_due) or h < next_due) then next_due = h end
    end
  end
  -- When budget returns on a limited queue a get found throttled: the manager wakes its getters then.
  if BUDGET_AT and ((not next_due) or BUDGET_AT < next_due) then next_due = BUDGET_AT end
  local bytes = {}
  for _, q in ipairs(DUE_LIST) do
    look(q)
    bytes[#bytes + 1] = q
    bytes[#bytes + 1] = num(BYTES[q])
    bytes[#bytes + 1] = tostring(READY[q])
    bytes[#bytes + 1] = VERSION[q]
  end
  return {status, num(NOW), next_due and num(next_due) or '', EVENTS, data or {}, bytes, touched}
end
`;
