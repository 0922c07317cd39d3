'use strict';
// express-rate-limit (a fixed window per client that opens at the client's
// first request, with the draft-8 RateLimit/RateLimit-Policy headers and the
// legacy X-RateLimit-* ones) in front of a backend. bulksend's tests and
// bench/limits start it through internal/limiters:
//
//   node server.js PORT LIMIT WINDOW_MS BACKEND_URL
//
// Every allowed request is passed to BACKEND_URL unchanged; a refused one is
// answered 429 here, as express-rate-limit does by default.
const http = require('node:http');
const express = require('express');
const { rateLimit } = require('express-rate-limit');

const [port, limit, windowMs, backend] = process.argv.slice(2);
if (!backend) {
  console.error('usage: node server.js PORT LIMIT WINDOW_MS BACKEND_URL');
  process.exit(2);
}
const target = new URL(backend);
const agent = new http.Agent({ keepAlive: true });

const app = express();
app.use(rateLimit({
  windowMs: Number(windowMs),
  limit: Number(limit),
  standardHeaders: 'draft-8',
  legacyHeaders: true,
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
