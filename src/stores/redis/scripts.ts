/**
 * The server-side scripts of the Redis store. Each runs atomically on the node that holds its
 * keys; all keys of one call share a slot (the store groups them so).
 *
 * A partition is passed as two KEYS, its data key and its lock key. After the ARGV of the script's
 * own (per transaction: four for COMMIT, six for PREPARE), per partition the caller sends four
 * ARGV: the version it computed on (`""` absent), an op (`r` read only, `s` set, `d` delete; upper
 * case also publishes the change), the stored value and a time to live in ms (`0`: none).
 *
 * Turns: a transaction that lost to other writers several times claims its turn (its claim
 * argument, `<claim id>|<ms>`; `""` none): where its versions were stale, the script records the claim in the
 * partition's lock key (field `q`, `<claim id>|<expires>`), and until the claimant commits or the
 * turn expires every other transaction on that partition waits (reply 2) instead of running. A
 * process whose replies arrive first cannot starve another one. Only progress depends on turns;
 * exactness is the versions' alone.
 *
 * Replies: `{1}` committed or prepared · `{0, i, current, ...}` the versions of these partitions
 * differ, with their current values · `{2, i, expires, txid, status, now}` partition `i` is locked
 * by a cross-slot transaction (txid nil, status `turn`: held by another transaction's turn) ·
 * `{3}` the server's clock is past the caller's deadline, nothing written · `{4}` this cross-slot
 * transaction was aborted by another holder.
 */

export interface Script {
  readonly name: string;
  readonly lua: string;
}

const PRELUDE = `
-- The transaction in hand: its partition i has the KEYS K0 + 2i - 1 (data) and K0 + 2i (lock),
-- and its four ARGV start after A0 (see above). A batch moves them from one transaction to the next.
local K0, A0 = 0, 5
local function arg(i, k) return ARGV[A0 + 4 * (i - 1) + k] end
local function data(i) return KEYS[K0 + 2 * i - 1] end
local function lock(i) return KEYS[K0 + 2 * i] end
local function version(v)
  if not v then return '' end
  local m = string.match(v, '^([%w_%-]+):')
  if m then return m end
  return '=' .. v
end
local function read(k)
  local v = redis.pcall('GET', k)
  if type(v) == 'table' then return '(a Redis ' .. redis.call('TYPE', k)['ok'] .. ', not a partition)' end
  return v
end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function apply(k, op, value, ttl, channel, writer)
  local o = string.lower(op)
  if o == 's' then
    local ms = tonumber(ttl)
    if ms > 0 then redis.call('SET', k, value, 'PX', ms) else redis.call('SET', k, value) end
  elseif o == 'd' then
    redis.call('DEL', k)
  else
    return
  end
  if o ~= op and channel ~= '' then redis.call('PUBLISH', channel, writer .. ' ' .. k) end
end
-- Whether partition i may be used now: an exclusive lock (a cross-slot writer's) stops everyone;
-- shared locks (cross-slot readers', fields r:<txid>) stop writers only, and a writer they stop
-- leaves a mark (w) that keeps new readers out until it got through, so readers cannot starve it.
-- Expired marks are removed here.
local function locked(n, now, sharing)
  for i = 1, n do
    local l = lock(i)
    if redis.call('EXISTS', l) == 1 then
      local f = redis.call('HMGET', l, 'e', 't', 's', 'w')
      local at = string.format('%.0f', now)
      if f[2] then return {2, i, f[1], f[2], f[3], at} end
      local writes = string.lower(arg(i, 2)) ~= 'r'
      if f[4] and tonumber(f[4]) <= now then
        redis.call('HDEL', l, 'w')
        f[4] = false
      end
      if sharing and not writes and f[4] then return {2, i, f[4], false, false, at} end
      if writes then
        -- A shared lock is 'r:<txid>' = '<expires>|<status key>'. One past its lease goes back to
        -- the caller, which settles it through the status key like an exclusive one.
        local all = redis.call('HGETALL', l)
        local live = false
        for j = 1, #all, 2 do
          if string.sub(all[j], 1, 2) == 'r:' then
            local bar = string.find(all[j + 1], '|', 1, true)
            local e = string.sub(all[j + 1], 1, bar - 1)
            if tonumber(e) <= now then return {2, i, e, string.sub(all[j], 3), string.sub(all[j + 1], bar + 1), at} end
            live = e
          end
        end
        if live then
          redis.call('HSET', l, 'w', live)
          return {2, i, live, false, false, at}
        end
      end
    end
  end
  return nil
end
local function stale(n)
  local bad = {0}
  for i = 1, n do
    local v = read(data(i))
    if version(v) ~= arg(i, 1) then
      bad[#bad + 1] = i
      bad[#bad + 1] = v
    end
  end
  if #bad > 1 then return bad end
  return nil
end
-- A claim argument's id and how long a turn lasts (ms); '' and 0 when there is none.
local function claim(c)
  local id, ms = string.match(c, '^(.+)|(%d+)$')
  if id then return id, tonumber(ms) end
  return '', 0
end
-- Reply 2 if another transaction's live turn holds one of the partitions; expired turns are removed.
local function waiting(n, now, mine)
  for i = 1, n do
    local q = redis.call('HGET', lock(i), 'q')
    if q then
      local bar = string.find(q, '|', 1, true)
      local e = string.sub(q, bar + 1)
      if tonumber(e) <= now then
        redis.call('HDEL', lock(i), 'q')
      elseif string.sub(q, 1, bar - 1) ~= mine then
        return {2, i, e, false, 'turn', string.format('%.0f', now)}
      end
    end
  end
  return nil
end
-- Claims the turn on the stale partitions of reply bad; a lock key holding nothing but a turn
-- expires with it (locks: whether cross-slot locks may live in these lock keys).
local function take(bad, now, mine, ms, locks)
  if mine == '' then return end
  local q = mine .. '|' .. string.format('%.0f', now + ms)
  for j = 2, #bad, 2 do
    local l = lock(bad[j])
    redis.call('HSET', l, 'q', q)
    if not locks then redis.call('PEXPIRE', l, ms) end
  end
end
-- Ends the claimant's turn on these partitions.
local function done(n, mine)
  if mine == '' then return end
  for i = 1, n do
    local q = redis.call('HGET', lock(i), 'q')
    if q and string.sub(q, 1, #mine + 1) == mine .. '|' then redis.call('HDEL', lock(i), 'q') end
  end
end
`;

/**
 * Validates and writes transactions, each on one slot, all of whose keys share the slot of the
 * call: one script call carries the transactions a process has ready at once (a batch), each
 * validated and written on its own and atomically, in order, answered by a reply of its own.
 * ARGV: channel, writer id, then per transaction: its number of partitions, notAfter (server ms,
 * 0: none), mode (`0` no cross-slot locks exist, `1` check locks, `2` also the KEY after its
 * partitions is this cross-slot transaction's status key: commit only if no one aborted it, and
 * record the commit there), claim, then the per-partition four. Replies with one reply per
 * transaction; `{5, message}` is a transaction that failed with a Redis error (the others stand).
 */
export const COMMIT: Script = {
  name: "commit",
  lua: `${PRELUDE}
local function commit(n, notAfter, mode, c, now, channel, writer)
  if notAfter > 0 and now > notAfter then return {3} end
  local mine, ms = claim(c)
  local w = waiting(n, now, mine)
  if w then return w end
  if mode ~= '0' then
    local l = locked(n, now, false)
    if l then return l end
  end
  local status = KEYS[K0 + 2 * n + 1]
  if mode == '2' and redis.call('GET', status) then return {4} end
  local bad = stale(n)
  if bad then
    take(bad, now, mine, ms, mode ~= '0')
    return bad
  end
  for i = 1, n do
    apply(data(i), arg(i, 2), arg(i, 3), arg(i, 4), channel, writer)
    -- A writer that had to wait for shared locks lifts its mark once through.
    if mode ~= '0' and string.lower(arg(i, 2)) ~= 'r' then redis.call('HDEL', lock(i), 'w') end
  end
  done(n, mine)
  if mode == '2' then redis.call('SET', status, 'c') end
  return {1}
end
local channel, writer = ARGV[1], ARGV[2]
local now = clock()
local out = {}
local a = 3
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local mode = ARGV[a + 2]
  A0 = a + 3
  local ok, r = pcall(commit, n, tonumber(ARGV[a + 1]), mode, ARGV[a + 3], now, channel, writer)
  if not ok then r = {5, type(r) == 'table' and r.err or tostring(r)} end
  out[#out + 1] = r
  K0 = K0 + 2 * n
  if mode == '2' then K0 = K0 + 1 end
  a = a + 4 + 4 * n
end
return out
`,
};

/**
 * First phase of cross-slot transactions on one of their slots: validates each one's partitions
 * and locks them — exclusively, with the values to write, those it writes; shared, those it only
 * reads. Batched as COMMIT is: ARGV per transaction: its number of partitions, notAfter, txid,
 * status key name, lease (ms), claim, then the per-partition four; one reply per transaction. A
 * turn a transaction holds here stays until SETTLE is given its claim.
 */
export const PREPARE: Script = {
  name: "prepare",
  lua: `${PRELUDE}
local function prepare(n, notAfter, txid, status, lease, c, now)
  if notAfter > 0 and now > notAfter then return {3} end
  local mine, ms = claim(c)
  local w = waiting(n, now, mine)
  if w then return w end
  local l = locked(n, now, true)
  if l then return l end
  local bad = stale(n)
  if bad then
    take(bad, now, mine, ms, true)
    return bad
  end
  local e = string.format('%.0f', now + lease)
  for i = 1, n do
    if arg(i, 2) == 'r' then
      redis.call('HSET', lock(i), 'r:' .. txid, e .. '|' .. status)
    else
      redis.call('HSET', lock(i), 'e', e, 't', txid, 's', status, 'o', arg(i, 2), 'v', arg(i, 3), 'p', arg(i, 4))
      redis.call('HDEL', lock(i), 'w')
    end
  end
  return {1}
end
local now = clock()
local out = {}
local a = 1
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  A0 = a + 5
  local ok, r = pcall(prepare, n, tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4]), ARGV[a + 5], now)
  if not ok then r = {5, type(r) == 'table' and r.err or tostring(r)} end
  out[#out + 1] = r
  K0 = K0 + 2 * n
  a = a + 6 + 4 * n
end
return out
`,
};

/**
 * Second phase on a slot: applies (`c`) or drops (`a`) the locks transaction `txid` holds there.
 * Batched: ARGV: channel, writer id, then per transaction: its number of partitions, txid,
 * outcome and a claim whose turns end here (`""` none). Replies per transaction with the number
 * of locks settled (`{5, message}` for a Redis error).
 */
export const SETTLE: Script = {
  name: "settle",
  lua: `${PRELUDE}
local function settle(n, txid, outcome, c, channel, writer)
  local settled = 0
  for i = 1, n do
    local l = lock(i)
    local f = redis.call('HMGET', l, 't', 'o', 'v', 'p')
    if f[1] == txid then
      if outcome == 'c' then apply(data(i), f[2], f[3], f[4], channel, writer) end
      redis.call('HDEL', l, 'e', 't', 's', 'o', 'v', 'p')
      settled = settled + 1
    end
    settled = settled + redis.call('HDEL', l, 'r:' .. txid)
  end
  done(n, c)
  return settled
end
local channel, writer = ARGV[1], ARGV[2]
local out = {}
local a = 3
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local ok, r = pcall(settle, n, ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], channel, writer)
  if not ok then r = {5, type(r) == 'table' and r.err or tostring(r)} end
  out[#out + 1] = r
  K0 = K0 + 2 * n
  a = a + 4
end
return out
`,
};

/**
 * Decides the fate of a cross-slot transaction whose lock outlived its lease: `c` if it committed,
 * otherwise records `a` so that its commit can no longer happen. KEYS: its status key.
 */
export const RESOLVE: Script = {
  name: "resolve",
  lua: `
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], 'a')
return 'a'
`,
};
