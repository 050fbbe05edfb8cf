import { createHash } from 'node:crypto';

/**
 * Lua scripts run by the tier. Every entry is one Redis string:
 *
 *     L1<header JSON>\n<payload>
 *
 * where the header is `[createdAt, [tagKeySuffix...], expires, staleUntil, errorUntil]` (times in ms on
 * the Redis clock, `null` = never), and a tombstone (a recorded deletion) is `L1[deletedAt]\n`.
 * Lua reads the header with cjson; strings that do not parse are "foreign": reads hand them to the client
 * (which reports them), writes overwrite them. Keys of another Redis type (a hash or list another app keeps
 * under the prefix) are never touched: reads miss them, writes skip them, and the write scripts return the
 * names of the keys they skipped (a table) so that the tier reports each once instead of retrying forever.
 *
 * `<prefix>i` holds the time of the latest tag invalidation or clear (it never expires). A read fetches an
 * entry together with it (`MGET`, no Lua): an entry written after it cannot have been invalidated, and only
 * older entries need the full check of the read script. `MGET` answers nil both for a missing key and for a key
 * of another type, so a nil (or anything but a plain integer) never counts as "never invalidated": such reads
 * take the read script, which does not depend on `<prefix>i`.
 *
 * `<prefix>j` is a copy of that time, raised by the same scripts. So that a cache that never invalidates still
 * reads without Lua, the write script creates a missing `<prefix>i` from it: `0` when there is no copy either (a
 * new prefix), the copy's time when `<prefix>i` was lost (deleted by hand) or another app's key took its place
 * (the invalidations made meanwhile raised the copy), and the current Redis time when the copy cannot be read
 * (later than any invalidation it could have missed).
 *
 * Times read from Redis are untrusted too. One later than the Redis clock (`TIME`) plus {@link MAX_AHEAD_MS} (an
 * entry's createdAt, a tombstone's deletion time, a tag's, a clear's or the latest invalidation's time) was not
 * written by larder, whose times are on the Redis clock: it is "foreign". A foreign time in an entry or tombstone
 * never refuses a write (the write replaces it; a delete leaves a tombstone of its own time, and a clear removes
 * it), and a foreign invalidation time neither refuses a write nor makes a read miss, and is replaced by the next
 * invalidation of that key. Without this, one entry dated far ahead (another app's, or corrupt) refused every
 * write of its key and was served forever. Times within the allowance keep their meaning: a write older than the
 * stored entry still loses.
 *
 * @internal
 */

/**
 * How far ahead of the Redis clock a time read from Redis may be and still count as larder's: 5 minutes, the clock
 * skew larder/next allows for (`RESYNC_MARGIN`). larder writes every time on the Redis clock (measured with `TIME`
 * on every connect, to within the round trip), so its own times are ahead only by that error, by the drift of a
 * clock since its measurement, and, on a cluster, by the difference between the masters' clocks. A foreign time
 * within the allowance refuses writes of its key for at most that long. The tier's reads (tier-read.ts) apply the
 * same bound to an entry's createdAt. @internal
 */
export const MAX_AHEAD_MS = 5 * 60_000;

/**
 * `ahead(t)`: whether a time read from Redis is later than the Redis clock plus {@link MAX_AHEAD_MS} (foreign, see
 * the module comment). `TIME` is asked once per script, and only when a time needs the check.
 */
const CLOCK = `
local horizon
local function ahead(t)
  if not horizon then
    local now = redis.call('TIME')
    horizon = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ${MAX_AHEAD_MS}
  end
  return t > horizon
end
`;

const HEAD = `${CLOCK}
local function parse(v)
  if not v or string.sub(v, 1, 2) ~= 'L1' then return nil end
  local nl = string.find(v, '\\n', 3, true)
  if not nl then return nil end
  local ok, h = pcall(cjson.decode, string.sub(v, 3, nl - 1))
  if not ok or type(h) ~= 'table' or type(h[1]) ~= 'number' then return nil end
  return h
end
local function head(key)
  local v = redis.pcall('GETRANGE', key, 0, 511)
  if type(v) == 'table' then return nil, true end
  if v == '' then return nil end
  if string.sub(v, 1, 2) == 'L1' and not string.find(v, '\\n', 3, true) and #v == 512 then
    v = redis.call('GET', key)
  end
  return parse(v)
end
local function number(key)
  local v = redis.pcall('GET', key)
  if type(v) == 'table' then return nil, true end
  return tonumber(v or '')
end
local function cleared(clears, suffix, created)
  local c = redis.pcall('HGETALL', clears)
  if c.err then return false, true end
  for i = 1, #c, 2 do
    local f = c[i]
    if string.sub(suffix, 1, #f) == f then
      local n = tonumber(c[i + 1])
      if n and n >= created and not ahead(n) then return true end
    end
  end
  return false
end
`;

/** A Lua string literal holding `text` exactly (every UTF-8 byte as a decimal escape). */
function luaString(text: string): string {
  let out = '"';
  for (const byte of new TextEncoder().encode(text)) out += `\\${byte}`;
  return `${out}"`;
}

/**
 * The read script of a tier with this key prefix (the prefix is written into the script, so that a read
 * sends a single key and nothing else). KEYS: entry.
 * Returns the entry string, or nil when absent, a tombstone, or invalidated by a tag or a clear. An entry
 * without tags (integer createdAt, `[]`) is recognised with one anchored match, without cjson, and when no
 * clear is recorded it is returned after a single EXISTS. A tag key or the clears hash holding another Redis
 * type cannot be read: the entry reads as absent (never as valid, since the invalidation may be unreadable).
 */
export function getScript(prefix: string): string {
  return `${HEAD}
local prefix = ${luaString(prefix)}
local clears = prefix .. 'c'
local v = redis.pcall('GET', KEYS[1])
if not v or type(v) == 'table' then return false end
local created = string.match(v, '^L1%[(%d+),%[%],')
if created then
  if redis.call('EXISTS', clears) == 0 then return v end
  created = tonumber(created)
else
  local h = parse(v)
  if not h then return v end
  if #h < 5 then return false end
  created = h[1]
  local tags = h[2]
  if type(tags) == 'table' then
    for i = 1, #tags do
      local n, bad = number(prefix .. tags[i])
      if bad or (n and n >= created and not ahead(n)) then return false end
    end
  end
end
local isCleared, badClears = cleared(clears, string.sub(KEYS[1], #prefix + 1), created)
if isCleared or badClears then return false end
return v
`;
}

/**
 * Conditional write. KEYS: entry, clears hash, latest-invalidation key and its copy, tag keys... ARGV: entry
 * string, PX (0 = no expiry), createdAt, prefix. Refuses (returns 0) when the stored entry is newer, a tombstone
 * is as new or newer, or a tag or clear of this entry happened at or after createdAt; none of these counts when its
 * time is foreign (further ahead of the Redis clock than {@link MAX_AHEAD_MS}). Each tag key is kept at
 * least as long as the entry, so that an invalidation of the tag is seen for as long as the entry lives. When
 * one of the keys holds another Redis type, writes nothing and returns the names of those keys. Creates the
 * latest-invalidation key from its copy when it is missing (see the module comment); one of another type is
 * left alone (reads then take the read script).
 */
export const SET = `${HEAD}
local created = tonumber(ARGV[3])
local px = tonumber(ARGV[2])
local foreign = {}
local h, bad = head(KEYS[1])
if bad then table.insert(foreign, KEYS[1]) end
local tagTimes = {}
for i = 5, #KEYS do
  local n, badTag = number(KEYS[i])
  if badTag then table.insert(foreign, KEYS[i]) end
  tagTimes[i] = n
end
local isCleared, badClears = cleared(KEYS[2], string.sub(KEYS[1], #ARGV[4] + 1), created)
if badClears then table.insert(foreign, KEYS[2]) end
if #foreign > 0 then return foreign end
if h and not ahead(h[1]) then
  if #h < 5 then
    if h[1] >= created then return 0 end
  elseif h[1] > created then
    return 0
  end
end
for i = 5, #KEYS do
  local n = tagTimes[i]
  if n and n >= created and not ahead(n) then return 0 end
end
if isCleared then return 0 end
if px > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  local copy = redis.pcall('GET', KEYS[4])
  local latest = 0
  if copy then latest = type(copy) == 'string' and tonumber(copy) or -1 end
  if latest < 0 or latest ~= latest or ahead(latest) then
    local now = redis.call('TIME')
    latest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  end
  redis.call('SET', KEYS[3], string.format('%.0f', latest))
end
for i = 5, #KEYS do
  local t = redis.call('PTTL', KEYS[i])
  if t == -2 then
    if px > 0 then redis.call('SET', KEYS[i], '0', 'PX', px) else redis.call('SET', KEYS[i], '0') end
  elseif t >= 0 then
    if px == 0 then redis.call('PERSIST', KEYS[i]) elseif t < px then redis.call('PEXPIRE', KEYS[i], px) end
  end
end
return 1
`;

/**
 * Delete with tombstones. KEYS: entries. ARGV: tombstone PX, then one time per key. The tombstone carries
 * the later of the deletion time and the replaced entry's time (unless that time is foreign), so no older load can
 * write back. Returns the keys skipped because they hold another Redis type.
 */
export const DELETE = `${HEAD}
local foreign = {}
for i = 1, #KEYS do
  local t = ARGV[i + 1]
  local h, bad = head(KEYS[i])
  if bad then
    table.insert(foreign, KEYS[i])
  else
    if h and h[1] > tonumber(t) and not ahead(h[1]) then t = string.format('%.0f', h[1]) end
    redis.call('SET', KEYS[i], 'L1[' .. t .. ']\\n', 'PX', ARGV[1])
  end
end
return foreign
`;

/** Raises the time held by a key (never lowers it). Returns true when the key holds another Redis type. */
const RAISE = `${CLOCK}
local function raise(key, at)
  local cur = redis.pcall('GET', key)
  if type(cur) == 'table' then return true end
  cur = tonumber(cur or '')
  if not cur or cur < tonumber(at) or ahead(cur) then redis.call('SET', key, at) end
  return false
end
`;

/**
 * Tag invalidation. KEYS: the latest-invalidation key and its copy, then tag keys. ARGV: minimum PX, then one
 * time per tag. Raises each tag's time (never lowers it) and keeps the key for at least the minimum PX (to refuse
 * late writes of older loads); raises the latest-invalidation time and its copy.
 */
export const TAGS = `${RAISE}
local px = tonumber(ARGV[1])
local foreign = {}
local badInv = false
local badCopy = false
for i = 3, #KEYS do
  local at = tonumber(ARGV[i - 1])
  local cur = redis.pcall('GET', KEYS[i])
  if type(cur) == 'table' then
    table.insert(foreign, KEYS[i])
  else
    cur = tonumber(cur or '')
    local t = redis.call('PTTL', KEYS[i])
    if not cur or cur < at or ahead(cur) then
      if t == -2 then
        redis.call('SET', KEYS[i], ARGV[i - 1], 'PX', px)
      else
        redis.call('SET', KEYS[i], ARGV[i - 1], 'KEEPTTL')
      end
    end
    if t >= 0 and t < px then redis.call('PEXPIRE', KEYS[i], px) end
  end
  if raise(KEYS[1], ARGV[i - 1]) then badInv = true end
  if raise(KEYS[2], ARGV[i - 1]) then badCopy = true end
end
if badInv then table.insert(foreign, KEYS[1]) end
if badCopy then table.insert(foreign, KEYS[2]) end
return foreign
`;

/**
 * Records a clear. KEYS: clears hash, latest-invalidation key and its copy. ARGV: PX, time, encoded key prefixes...
 * Entries under a prefix created at or before its time read as absent and cannot be written (the SCAN that
 * follows removes them).
 */
export const CLEAR = `${RAISE}
local px = tonumber(ARGV[1])
local foreign = {}
local t = redis.call('PTTL', KEYS[1])
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' or kind == 'none' then
  for i = 3, #ARGV do
    local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '')
    if not cur or cur < tonumber(ARGV[2]) or ahead(cur) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[2]) end
  end
  if t == -2 or (t >= 0 and t < px) then redis.call('PEXPIRE', KEYS[1], px) end
else
  table.insert(foreign, KEYS[1])
end
if raise(KEYS[2], ARGV[2]) then table.insert(foreign, KEYS[2]) end
if raise(KEYS[3], ARGV[2]) then table.insert(foreign, KEYS[3]) end
return foreign
`;

/**
 * Removes SCANned entries created at or before a clear. KEYS: entries. ARGV: the clear's time. Returns the
 * keys left alone because they hold another Redis type (another app's data).
 */
export const PURGE = `${HEAD}
local at = tonumber(ARGV[1])
local foreign = {}
for i = 1, #KEYS do
  local h, bad = head(KEYS[i])
  if bad then
    table.insert(foreign, KEYS[i])
  elseif not h or h[1] <= at or ahead(h[1]) then
    redis.call('UNLINK', KEYS[i])
  end
end
return foreign
`;

/** SHA1 of a script, for EVALSHA. */
export function sha1(script: string): string {
  return createHash('sha1').update(script).digest('hex');
}
