'use strict';
// pass forwards an allowed request to the counting backend and its answer
// back; shared by fastify.js, and through forward by flexible.js and
// rolling.js.
const http = require('node:http');

const agent = new http.Agent({ keepAlive: true });

// pass sends method, path, headers and body (a Buffer, or a readable stream
// to pipe) to target (a URL) and calls done(err, status, headers, body).
function pass(target, method, path, headers, body, done) {
  const up = http.request({
    host: target.hostname,
    port: target.port,
    method,
    path,
    headers,
    agent,
  }, (answer) => {
    const chunks = [];
    answer.on('data', (c) => chunks.push(c));
    answer.on('end', () => done(null, answer.statusCode, answer.headers, Buffer.concat(chunks)));
    answer.on('error', (err) => done(err));
  });
  up.on('error', (err) => done(err));
  if (body && typeof body.pipe === 'function') {
    body.pipe(up);
  } else {
    up.end(body);
  }
}

// forward passes an allowed request of a node:http server to target as it
// came, and the backend's status, content type and body back on res (a
// 502 with a JSON error where the backend could not be reached).
function forward(target, req, res) {
  pass(target, req.method, req.url, { ...req.headers }, req, (err, status, answerHeaders, body) => {
    if (err) {
      res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'backend: ' + err.message }));
      return;
    }
    if (answerHeaders['content-type']) {
      res.setHeader('Content-Type', answerHeaders['content-type']);
    }
    res.writeHead(status);
    res.end(body);
  });
}

// listen serves server on 127.0.0.1:port and ends on SIGTERM or SIGINT.
function listen(server, port) {
  server.on('error', (err) => {
    console.error('listen:', err.message);
    process.exit(1);
  });
  server.listen(Number(port), '127.0.0.1');
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}

module.exports = { pass, forward, listen };
