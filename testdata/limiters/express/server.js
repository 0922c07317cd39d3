'use strict';
// express-rate-limit (a fixed window per client that opens at the client's
// first request) in front of a backend. bulksend's tests and bench/limits
// start it through internal/limiters:
//
//   node server.js PORT LIMIT WINDOW_MS BACKEND_URL [STYLE]
//
// STYLE is how the limiter speaks, each a real configuration of it:
//   draft-8      standardHeaders 'draft-8' (RateLimit: "15-in-0.15sec"; r=14; t=1)
//                and legacyHeaders (X-RateLimit-*): the default
//   draft-7      standardHeaders 'draft-7' (RateLimit: limit=15, remaining=14, reset=1)
//   draft-6      standardHeaders 'draft-6' (RateLimit-Limit/-Remaining/-Reset,
//                RateLimit-Policy: 15;w=1)
//   retry-after  standardHeaders and legacyHeaders false, and a handler that
//                sets Retry-After as express-rate-limit does with headers on
//                (whole seconds to the window's end, rounded up): a 429 whose
//                only signal is Retry-After
//   none         standardHeaders and legacyHeaders false: a bare 429, since
//                express-rate-limit sets Retry-After only with headers on
// The header styles all send Retry-After on a 429 in whole seconds.
//
// Every allowed request is passed to BACKEND_URL unchanged; a refused one is
// answered 429 here, as express-rate-limit does by default.
const http = require('node:http');
const express = require('express');
const { rateLimit } = require('express-rate-limit');

const [port, limit, windowMs, backend, style = 'draft-8'] = process.argv.slice(2);
const styles = {
  'draft-8': { standardHeaders: 'draft-8', legacyHeaders: true },
  'draft-7': { standardHeaders: 'draft-7', legacyHeaders: false },
  'draft-6': { standardHeaders: 'draft-6', legacyHeaders: false },
  'retry-after': {
    standardHeaders: false,
    legacyHeaders: false,
    handler: (req, res, next, options) => {
      const reset = req.rateLimit.resetTime;
      const seconds = reset ? Math.max(0, Math.ceil((reset.getTime() - Date.now()) / 1000)) : Math.ceil(options.windowMs / 1000);
      res.setHeader('Retry-After', String(seconds));
      res.status(options.statusCode).send(options.message);
    },
  },
  none: { standardHeaders: false, legacyHeaders: false },
};
if (!backend || !styles[style]) {
  console.error('usage: node server.js PORT LIMIT WINDOW_MS BACKEND_URL [draft-8|draft-7|draft-6|retry-after|none]');
  process.exit(2);
}
const target = new URL(backend);
const agent = new http.Agent({ keepAlive: true });

const app = express();
app.use(rateLimit({
  windowMs: Number(windowMs),
  limit: Number(limit),
  ...styles[style],
}));
app.use((req, res) => {
  const up = http.request({
    host: target.hostname,
    port: target.port,
    method: req.method,
    path: req.originalUrl,
    headers: req.headers,
    agent,
  }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  up.on('error', (err) => {
    if (!res.headersSent) {
      res.status(502).json({ error: 'backend: ' + err.message });
    } else {
      res.destroy(err);
    }
  });
  req.pipe(up);
});

const server = app.listen(Number(port), '127.0.0.1');
server.on('error', (err) => {
  console.error('listen:', err.message);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
