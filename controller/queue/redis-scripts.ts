/**
 * The Redis side of `BullMQQueue`: its key layout and the Lua scripts that move keys between
 * states atomically (one script runs at a time in Redis, so no two processes can both take a key).
 *
 * Per queue, under `<prefix>:wq:{<name>}:` (the braces keep a queue's keys in one Redis Cluster
 * slot, as BullMQ's `{queue}` prefix does):
 *
 * | key       | type | holds                                                                  |
 * | --------- | ---- | ---------------------------------------------------------------------- |
 * | `ready`   | LIST | keys waiting for a worker, FIFO, each at most once                     |
 * | `queued`  | HASH | key → time queued: keys that need processing (client-go's `dirty` set) |
 * | `delayed` | ZSET | key → due time, for `addAfter` / backoff                               |
 * | `active`  | HASH | key → token of the worker processing it (client-go's `processing`)     |
 * | `leases`  | ZSET | key → lease expiry; an expired lease means its worker died             |
 * | `groups`  | HASH | active key → its concurrency group                                     |
 * | `running` | HASH | group → active keys in it                                              |
 * | `labels`  | HASH | key → what limits match instead of the key (`groupOf`, set when added)  |
 * | `retries` | HASH | key → failures since the last `forget`                                 |
 * | `epoch`   | STR  | random value set once; gone means Redis lost the queue (restart)       |
 * | `shards`  | HASH | key → shard number (`shardOf`, set when added)                          |
 * | `members` | HASH | replica token → expiry: the live replicas that divide the shards        |
 *
 * Invariant: a key is in `ready` iff it is in `queued` and not in `active`. `add` of an active key
 * only marks it queued; `done` (or lease recovery) puts it in `ready` then — so one key never
 * reaches two workers and an add during processing is never lost. Times are Redis' own clock
 * (`TIME`), so replicas with skewed clocks agree on leases and due times.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

export const KEY_NAMES = [
  "ready",
  "queued",
  "delayed",
  "active",
  "leases",
  "groups",
  "running",
  "retries",
  "epoch",
  "labels",
  "shards",
  "members",
] as const;

export type QueueKeyName = (typeof KEY_NAMES)[number];

export interface QueueKeys {
  /** `<prefix>:wq:{<name>}:` */
  base: string;
  /** Pub/sub channel that wakes idle workers when a key becomes ready. */
  channel: string;
  /** Every key, in the order the scripts expect them as KEYS[1..10]. */
  all: string[];
  key(name: QueueKeyName): string;
}

/** The set of queue names under a prefix, for `slipway queue stats`. */
export const queuesSetKey = (prefix: string) => `${prefix}:wq:queues`;

export function queueKeys(prefix: string, name: string): QueueKeys {
  const base = `${prefix}:wq:{${name}}:`;
  return {
    base,
    channel: `${base}wake`,
    all: KEY_NAMES.map((k) => base + k),
    key: (k) => base + k,
  };
}

/** A Lua script run by SHA, loaded again when Redis does not know it (after a restart). */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const PRELUDE = `
local READY, QUEUED, DELAYED, ACTIVE, LEASES, GROUPS, RUNNING, RETRIES, EPOCH, LABELS, SHARDS, MEMBERS =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12]

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- client-go's add: a key waiting is stored once; an active key is only marked, done() queues it.
local function enqueue(key, now)
  if redis.call('HEXISTS', QUEUED, key) == 1 then return 0 end
  redis.call('HSET', QUEUED, key, now)
  if redis.call('HEXISTS', ACTIVE, key) == 0 then redis.call('RPUSH', READY, key) end
  return 1
end

local function promote(now)
  local due = redis.call('ZRANGEBYSCORE', DELAYED, '-inf', now, 'LIMIT', 0, 1000)
  local added = 0
  for _, key in ipairs(due) do
    redis.call('ZREM', DELAYED, key)
    added = added + enqueue(key, now)
  end
  return added
end

local function release(key)
  local group = redis.call('HGET', GROUPS, key)
  redis.call('HDEL', ACTIVE, key)
  redis.call('ZREM', LEASES, key)
  redis.call('HDEL', GROUPS, key)
  if group then
    if redis.call('HINCRBY', RUNNING, group, -1) <= 0 then redis.call('HDEL', RUNNING, group) end
  end
end

-- Puts a key that was never done back in line (once: it cannot be in READY while active).
local function requeue(key, now)
  if redis.call('HEXISTS', QUEUED, key) == 0 then redis.call('HSET', QUEUED, key, now) end
  redis.call('RPUSH', READY, key)
end

-- Leases that expired belong to workers that died (or stalled): their keys go back in line.
local function recover(now)
  local expired = redis.call('ZRANGEBYSCORE', LEASES, '-inf', now, 'LIMIT', 0, 1000)
  for _, key in ipairs(expired) do
    release(key)
    requeue(key, now)
  end
  return #expired
end

-- Sets ('' clears) the value of a per-key hash (labels, shards).
local function setOrClear(hash, key, value)
  if value == '' then redis.call('HDEL', hash, key) else redis.call('HSET', hash, key, value) end
end

-- Stores the label and the shard sent for key from ARGV[i] on, as flagged; returns the next index.
local function setPlace(key, i, labelled, sharded)
  if labelled then setOrClear(LABELS, key, ARGV[i]); i = i + 1 end
  if sharded then setOrClear(SHARDS, key, ARGV[i]); i = i + 1 end
  return i
end

-- Marks this replica alive until now + leaseMs and returns its place among the live replicas
-- (0-based, in token order) and their count. Replicas gone past their expiry are dropped, so
-- their shards pass to the others.
local function shardPlace(token, leaseMs, now)
  redis.call('HSET', MEMBERS, token, now + leaseMs)
  local all = redis.call('HGETALL', MEMBERS)
  local live = {}
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) < now then redis.call('HDEL', MEMBERS, all[i]) else live[#live + 1] = all[i] end
  end
  table.sort(live)
  for i, member in ipairs(live) do
    if member == token then return i - 1, #live end
  end
  return 0, 1
end

local function nextDueIn(now)
  local first = redis.call('ZRANGE', DELAYED, 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  local d = math.ceil(tonumber(first[2]) - now)
  if d < 0 then return 0 end
  return d
end
`;

/**
 * ARGV: channel, key, delayMs (> 0), labelled (1|0), sharded (1|0), then the key's label and shard
 * as flagged. Schedules `key`, keeping the earlier of two due times (immediate adds go through
 * ADD_MANY). A label or shard sent ('' for none) replaces the stored one: the latest add says where
 * the key belongs. Returns {changed (0|1), ready length}.
 */
export const ADD = new LuaScript(`${PRELUDE}
local channel, key, delay = ARGV[1], ARGV[2], tonumber(ARGV[3])
setPlace(key, 6, ARGV[4] == '1', ARGV[5] == '1')
local due = nowMs() + delay
local existing = redis.call('ZSCORE', DELAYED, key)
if existing and tonumber(existing) <= due then return {0, redis.call('LLEN', READY)} end
redis.call('ZADD', DELAYED, due, key)
-- Idle workers sleep until the earliest due time they know of; tell them about an earlier one.
local first = redis.call('ZRANGE', DELAYED, 0, 0)
if first[1] == key then redis.call('PUBLISH', channel, 'delayed') end
return {1, redis.call('LLEN', READY)}
`);

/**
 * Many immediate adds in one call: ARGV: channel, labelled (1|0), sharded (1|0), then per key the
 * key, its label when labelled, its shard when sharded. An informer event burst (ten ConfigMaps of
 * one app written at once) costs one round trip instead of ten. Returns {keys newly queued,
 * ready length}.
 */
export const ADD_MANY = new LuaScript(`${PRELUDE}
local channel, labelled, sharded = ARGV[1], ARGV[2] == '1', ARGV[3] == '1'
local now = nowMs()
local added = 0
local i = 4
while i <= #ARGV do
  local key = ARGV[i]
  i = setPlace(key, i + 1, labelled, sharded)
  if enqueue(key, now) == 1 then
    added = added + 1
    if redis.call('HEXISTS', ACTIVE, key) == 0 then redis.call('PUBLISH', channel, 'ready') end
  end
end
return {added, redis.call('LLEN', READY)}
`);

/**
 * ARGV: channel, token, leaseMs, scanLimit, sharded (1|0), ruleCount, then (luaPattern, limit)
 * per rule. Recovers expired leases, promotes due keys, then hands out the first ready key whose
 * concurrency group has room and, when sharded, whose shard is this replica's: shard s belongs to
 * the live replica at place s mod count (keys without a shard go to anyone). Returns {key or '', queuedAt, now, ready length, next due in ms or
 * -1, promoted + recovered}.
 */
export const TAKE = new LuaScript(`${PRELUDE}
local channel, token, leaseMs, scan, sharded, nRules =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6])
local now = nowMs()
local moved = recover(now) + promote(now)
local place, replicas = 0, 1
if sharded then place, replicas = shardPlace(token, leaseMs, now) end
local rules = {}
for i = 1, nRules do rules[i] = {ARGV[5 + 2 * i], tonumber(ARGV[6 + 2 * i])} end
local counts = {}
for _, key in ipairs(redis.call('LRANGE', READY, 0, scan - 1)) do
  local shard = replicas > 1 and tonumber(redis.call('HGET', SHARDS, key) or '')
  if redis.call('HEXISTS', ACTIVE, key) == 1 then
    -- Cannot happen while the invariant holds; never hand an active key out twice.
    redis.call('LREM', READY, 1, key)
  elseif shard and shard % replicas ~= place then
    -- Another replica's shard: left for it (it watches that cluster; this one need not).
  else
    local group, limit = false, 0
    local subject = redis.call('HGET', LABELS, key) or key
    for _, rule in ipairs(rules) do
      local m = string.match(subject, rule[1])
      if m then group = m; limit = rule[2]; break end
    end
    local room = true
    if group then
      local n = counts[group]
      if n == nil then
        n = tonumber(redis.call('HGET', RUNNING, group) or '0')
        counts[group] = n
      end
      room = n < limit
    end
    if room then
      redis.call('LREM', READY, 1, key)
      local queuedAt = tonumber(redis.call('HGET', QUEUED, key) or now)
      redis.call('HDEL', QUEUED, key)
      redis.call('HSET', ACTIVE, key, token)
      redis.call('ZADD', LEASES, now + leaseMs, key)
      if group then
        redis.call('HSET', GROUPS, key, group)
        redis.call('HINCRBY', RUNNING, group, 1)
      end
      return {key, queuedAt, now, redis.call('LLEN', READY), nextDueIn(now), moved}
    end
  end
end
return {'', 0, now, redis.call('LLEN', READY), nextDueIn(now), moved}
`);

/**
 * ARGV: channel, key, token, giveBack (0|1). Ends this worker's hold on `key` (only if it still
 * holds it: a lease taken over after expiry is not released by the late worker). A key added
 * meanwhile — or given back unprocessed — goes back in line. Returns {held (0|1), ready length}.
 */
export const DONE = new LuaScript(`${PRELUDE}
local channel, key, token, giveBack = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
if redis.call('HGET', ACTIVE, key) ~= token then return {0, redis.call('LLEN', READY)} end
local hadGroup = redis.call('HEXISTS', GROUPS, key) == 1
release(key)
local now = nowMs()
if giveBack then
  requeue(key, now)
elseif redis.call('HEXISTS', QUEUED, key) == 1 then
  redis.call('RPUSH', READY, key)
elseif not redis.call('ZSCORE', DELAYED, key) then
  -- Not coming back: forget its label and shard (the next add brings fresh ones).
  redis.call('HDEL', LABELS, key)
  redis.call('HDEL', SHARDS, key)
end
local depth = redis.call('LLEN', READY)
-- Wake idle workers: a key is ready again, or a group has room for a waiting key.
if depth > 0 and (giveBack or hadGroup or redis.call('HEXISTS', QUEUED, key) == 1) then
  redis.call('PUBLISH', channel, 'ready')
end
return {1, depth}
`);

/** ARGV: token, leaseMs, keys... Extends the leases this worker still holds; returns the lost keys. */
export const RENEW = new LuaScript(`${PRELUDE}
local token, leaseMs = ARGV[1], tonumber(ARGV[2])
local now = nowMs()
local lost = {}
for i = 3, #ARGV do
  local key = ARGV[i]
  if redis.call('HGET', ACTIVE, key) == token then
    redis.call('ZADD', LEASES, 'XX', now + leaseMs, key)
  else
    lost[#lost + 1] = key
  end
end
return lost
`);

/**
 * ARGV: channel[, token, leaseMs]. The periodic sweep every replica runs: expired leases back in
 * line, due keys promoted; with a token, the replica is marked alive among the shard members.
 * Returns {moved, ready length, next due in ms or -1}.
 */
export const MAINTAIN = new LuaScript(`${PRELUDE}
local now = nowMs()
if ARGV[2] then shardPlace(ARGV[2], tonumber(ARGV[3]), now) end
local moved = recover(now) + promote(now)
if moved > 0 then redis.call('PUBLISH', ARGV[1], 'ready') end
return {moved, redis.call('LLEN', READY), nextDueIn(now)}
`);

/**
 * ARGV: token, channel. This replica leaves the shard members (shutdown): its shards pass to the
 * others at once, and their idle workers are woken to take the keys waiting there.
 */
export const LEAVE = new LuaScript(`${PRELUDE}
if redis.call('HDEL', MEMBERS, ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], 'ready') end
return 1
`);

/** ARGV: candidate. The queue's epoch, set to `candidate` if Redis has none (new or restarted). */
export const EPOCH = new LuaScript(`${PRELUDE}
local epoch = redis.call('GET', EPOCH)
if not epoch then
  redis.call('SET', EPOCH, ARGV[1])
  epoch = ARGV[1]
end
return epoch
`);
