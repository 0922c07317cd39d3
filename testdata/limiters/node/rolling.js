'use strict';
// rolling-rate-limiter's InMemoryRateLimiter on a plain node:http server in
// front of a backend. bulksend's tests and bench/limits start it through
// internal/limiters:
//
//   node rolling.js PORT LIMIT WINDOW_MS BACKEND_URL [STYLE]
//
// InMemoryRateLimiter({interval: WINDOW_MS, maxInInterval: LIMIT}) is a
// true sliding log: it keeps the microsecond timestamp of every attempt per
// client for WINDOW_MS and refuses an attempt when, with it, more than
// LIMIT lie in the last WINDOW_MS. Refused attempts are logged too, so they
// count against the quota: limitWithInfo calls getTimestamps(id, true),
// which always pushes the current timestamp ("adds a new action with the
// current microsecond timestamp") before the count is checked, blocked or
// not. A client that keeps knocking while refused keeps itself refused.
// limitWithInfo is called once per request, keyed by the client's address.
// The library sets no headers; STYLE picks what the server sends:
//   readme  the README's Express example: a refused request gets a bare
//           429 "Too many requests" (as Express's res.send answers it,
//           text/html) and no rate-limit headers; an allowed one goes to
//           the backend and comes back with no headers added
//   info    every answer, allowed or refused, carries X-RateLimit-Limit:
//           LIMIT, X-RateLimit-Remaining: actionsRemaining and
//           X-RateLimit-Reset: Math.ceil((Date.now() +
//           millisecondsUntilAllowed) / 1000) (Unix seconds rounded up);
//           a 429 also carries Retry-After:
//           Math.ceil(millisecondsUntilAllowed / 1000) (whole seconds)
const http = require('node:http');
const { InMemoryRateLimiter } = require('rolling-rate-limiter');
const { forward, listen } = require('./proxy');

const [port, limitArg, windowArg, backend, style = 'readme'] = process.argv.slice(2);
const styles = ['readme', 'info'];
if (!backend || !styles.includes(style)) {
  console.error('usage: node rolling.js PORT LIMIT WINDOW_MS BACKEND_URL [readme|info]');
  process.exit(2);
}
const target = new URL(backend);
const maxInInterval = Number(limitArg);
const interval = Number(windowArg);
const limiter = new InMemoryRateLimiter({ interval, maxInInterval });

function setHeaders(res, info) {
  if (style !== 'info') {
    return;
  }
  res.setHeader('X-RateLimit-Limit', String(maxInInterval));
  res.setHeader('X-RateLimit-Remaining', String(info.actionsRemaining));
  res.setHeader('X-RateLimit-Reset', String(Math.ceil((Date.now() + info.millisecondsUntilAllowed) / 1000)));
  if (info.blocked) {
    res.setHeader('Retry-After', String(Math.ceil(info.millisecondsUntilAllowed / 1000)));
  }
}

const server = http.createServer((req, res) => {
  limiter.limitWithInfo(req.socket.remoteAddress).then((info) => {
    setHeaders(res, info);
    if (info.blocked) {
      res.writeHead(429, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('Too many requests');
      return;
    }
    forward(target, req, res);
  }, (err) => {
    res.writeHead(500);
    res.end('limiter: ' + String(err));
  });
});
listen(server, port);
