package redislimit

import "github.com/redis/go-redis/v9"

// The scripts share two keys: KEYS[1] holds the GCRA's theoretical arrival
// time (tat) and KEYS[2] the end of the shared pause, both in microseconds
// of Redis' own clock. Numbers are written with %.0f because Redis' Lua
// turns a number into a string with 14 significant digits, which would
// round a microsecond timestamp (16 digits) to 100 µs. Each key expires a
// second after it stops mattering, so an idle quota leaves nothing behind.
//
// The bucket: a request may leave at tat - burst*interval, after which tat
// moves on by one interval. tat <= now is a full bucket; a pause ending at P
// sets tat to P + burst*interval, an empty bucket at P, so sending resumes
// one request per interval after P, as ratelimit.Limiter's drain does. A quota used for the first time
// (or idle long enough for its key to expire) starts one token short, as
// ratelimit.Limiter does: the server's bucket starts counting when the
// first request arrives, a dial later than Redis' clock, and without the
// margin the request after the first burst lands just before the server's
// next token and is refused, which with a whole-second Retry-After costs
// every process a second.

// nowLua reads Redis' clock in microseconds.
const nowLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function num(key)
  return tonumber(redis.call('GET', key) or '0') or 0
end
local function put(key, value, now)
  redis.call('SET', key, string.format('%.0f', value), 'PX', math.ceil((value - now) / 1000) + 1000)
end
`

// takeScript asks for one slot. ARGV: interval (µs, 0 for no pacing),
// burst. Reply {1, pauseEnd, now} while paused, else {0, delay, now}: the
// slot is reserved and the request may leave after delay µs.
var takeScript = redis.NewScript(nowLua + `
local pause = num(KEYS[2])
if pause > now then
  return {1, pause, now}
end
local interval = tonumber(ARGV[1])
if interval <= 0 then
  return {0, 0, now}
end
local burst = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = tonumber(stored or '0') or 0
if tat < now then
  tat = now
end
if not stored and burst > 1 then
  tat = now + interval
end
tat = tat + interval
put(KEYS[1], tat, now)
local delay = tat - burst * interval - now
if delay < 0 then
  delay = 0
end
return {0, delay, now}
`)

// pauseScript pauses every process. ARGV: wait (µs), interval, burst.
// The pause only ever grows. Reply {pauseEnd, now}.
var pauseScript = redis.NewScript(nowLua + `
local till = now + tonumber(ARGV[1])
local pause = num(KEYS[2])
if till > pause then
  pause = till
  put(KEYS[2], till, now)
  local interval = tonumber(ARGV[2])
  if interval > 0 then
    local empty = till + tonumber(ARGV[3]) * interval
    if empty > num(KEYS[1]) then
      put(KEYS[1], empty, now)
    end
  end
end
return {pause, now}
`)

// checkScript reads the pause. Reply {pauseEnd, now}; paused if pauseEnd > now.
var checkScript = redis.NewScript(nowLua + `
return {num(KEYS[2]), now}
`)
