'use strict';
// @fastify/rate-limit on fastify 5 in front of a backend. bulksend's tests
// and bench/limits start it through internal/limiters:
//
//   node fastify.js PORT LIMIT WINDOW_MS BACKEND_URL [STYLE]
//
// The plugin's in-memory store (store/LocalStore.js) keeps a fixed window
// per client that opens at the client's first request and lasts WINDOW_MS;
// refused requests count but do not move it. STYLE is a configuration of it:
//   legacy  the defaults: x-ratelimit-limit, -remaining and -reset (whole
//           seconds to the window's end, rounded up) on every answer, and
//           retry-after (the same whole seconds) on a 429
//   draft   enableDraftSpec: true, the same values as ratelimit-limit,
//           -remaining, -reset
// A refused request is answered 429 with fastify's JSON error, "Rate limit
// exceeded, retry in 1 second".
const Fastify = require('fastify');
const { pass, listen } = require('./proxy');

const [port, limit, windowMs, backend, style = 'legacy'] = process.argv.slice(2);
const styles = {
  legacy: {},
  draft: { enableDraftSpec: true },
};
if (!backend || !styles[style]) {
  console.error('usage: node fastify.js PORT LIMIT WINDOW_MS BACKEND_URL [legacy|draft]');
  process.exit(2);
}
const target = new URL(backend);

const app = Fastify({ logger: false });
// Bodies reach the backend as they came, whatever their type.
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => done(null, body));

app.register(require('@fastify/rate-limit'), {
  max: Number(limit),
  timeWindow: Number(windowMs),
  ...styles[style],
});
app.register(async (scope) => {
  scope.all('/*', (req, reply) => {
    const headers = { ...req.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    if (req.body) {
      headers['content-length'] = String(req.body.length);
    }
    pass(target, req.method, req.raw.url, headers, req.body, (err, status, answerHeaders, body) => {
      if (err) {
        reply.code(502).send({ error: 'backend: ' + err.message });
        return;
      }
      if (answerHeaders['content-type']) {
        reply.header('content-type', answerHeaders['content-type']);
      }
      reply.code(status).send(body);
    });
    return reply;
  });
});

app.ready((err) => {
  if (err) {
    console.error('start:', err.message);
    process.exit(1);
  }
  listen(app.server, port);
});
