'use strict';
// rate-limiter-flexible's RateLimiterMemory on a plain node:http server in
// front of a backend. bulksend's tests and bench/limits start it through
// internal/limiters:
//
//   node flexible.js PORT LIMIT WINDOW_MS BACKEND_URL [STYLE]
//
// RateLimiterMemory({points: LIMIT, duration: WINDOW_MS/1000}) keeps a
// fixed window per client that opens at its first request (a record that
// expires duration after it); refused requests count but do not move it.
// The library sets no headers: every answer, allowed or refused, gets the
// ones its README's example sets, with X-RateLimit-Reset in the shape STYLE
// names, each met in the field:
//   readme  Retry-After: msBeforeNext/1000 (fractional seconds, "0.087"),
//           X-RateLimit-Limit, X-RateLimit-Remaining, and X-RateLimit-Reset
//           in Unix seconds rounded up (the README's current example)
//   iso     X-RateLimit-Reset: new Date(...).toISOString()
//           ("2026-12-03T22:30:00.123Z")
//   date    X-RateLimit-Reset: new Date(...) as JavaScript prints it
//           ("Thu Dec 03 2026 22:30:00 GMT+0000 (Coordinated Universal
//           Time)", whole seconds, truncated): the README's older example
//   bursty  readme's headers from a BurstyRateLimiter: LIMIT per WINDOW_MS,
//           and when that is spent a burst limiter of LIMIT more per
//           10 x WINDOW_MS (the README's example has the same shape)
// A refused request is answered 429 "Too Many Requests".
const http = require('node:http');
const { RateLimiterMemory, BurstyRateLimiter } = require('rate-limiter-flexible');
const { forward, listen } = require('./proxy');

const [port, limitArg, windowArg, backend, style = 'readme'] = process.argv.slice(2);
const resets = {
  readme: (at) => String(Math.ceil(at / 1000)),
  iso: (at) => new Date(at).toISOString(),
  date: (at) => String(new Date(at)),
  bursty: (at) => String(Math.ceil(at / 1000)),
};
if (!backend || !resets[style]) {
  console.error('usage: node flexible.js PORT LIMIT WINDOW_MS BACKEND_URL [readme|iso|date|bursty]');
  process.exit(2);
}
const target = new URL(backend);
const points = Number(limitArg);
const duration = Number(windowArg) / 1000;
let limiter = new RateLimiterMemory({ points, duration });
if (style === 'bursty') {
  limiter = new BurstyRateLimiter(limiter, new RateLimiterMemory({ keyPrefix: 'burst', points, duration: 10 * duration }));
}

function setHeaders(res, rl) {
  res.setHeader('Retry-After', String(rl.msBeforeNext / 1000));
  res.setHeader('X-RateLimit-Limit', String(points));
  res.setHeader('X-RateLimit-Remaining', String(rl.remainingPoints));
  res.setHeader('X-RateLimit-Reset', resets[style](Date.now() + rl.msBeforeNext));
}

const server = http.createServer((req, res) => {
  limiter.consume(req.socket.remoteAddress).then((rl) => {
    setHeaders(res, rl);
    forward(target, req, res);
  }, (rl) => {
    if (!(rl && typeof rl.msBeforeNext === 'number')) {
      res.writeHead(500);
      res.end('limiter: ' + String(rl));
      return;
    }
    setHeaders(res, rl);
    res.writeHead(429, { 'Content-Type': 'text/plain' });
    res.end('Too Many Requests');
  });
});
listen(server, port);
