#!/usr/bin/env node
// An OAuth 1.0a (RFC 5849) provider for Latchkey's OAUTH1 tests. Every signature is verified by the
// npm package `oauth-1.0a` (its signature base string: method, base URI, and the sorted, encoded
// protocol, query and form-body parameters, repeated ones included), never by code of ours.
//
// - POST /oauth/request_token   temporary credentials; requires `oauth_callback` and the catalog's
//                               extra parameter `x_auth_access_type=write` (signed, in the body)
// - GET  /oauth/authorize       the user "approves" at once: redirects to the callback with
//                               `oauth_token` and `oauth_verifier`
// - POST /oauth/access_token    token credentials for the temporary token and its verifier
// - ANY  /api/*                 a protected resource: answers the parameters it verified, 401 otherwise
// - GET  /__stats               counts and every verification failure
// Nonces are single-use and timestamps must be within 5 minutes.
//
// Usage: node tests/oauth1/server.mjs --consumer-key K --consumer-secret S [--signature-method M]
// Prints `READY http://127.0.0.1:<port>` once listening.

import { createServer } from 'node:http';
import { createHmac, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import OAuth from 'oauth-1.0a';

const { values: args } = parseArgs({
  options: {
    'consumer-key': { type: 'string' },
    'consumer-secret': { type: 'string' },
    'signature-method': { type: 'string' },
  },
  strict: true,
});
const method = args['signature-method'] ?? 'HMAC-SHA1';
const oauth = OAuth({
  consumer: { key: args['consumer-key'], secret: args['consumer-secret'] },
  signature_method: method,
  hash_function: (base, key) =>
    method === 'PLAINTEXT' ? key : createHmac('sha1', key).update(base).digest('base64'),
});

const stats = { request_token: 0, access_token: 0, api: 0, failures: [] };
const temporary = new Map(); // token -> { secret, callback, verifier }
const tokens = new Map(); // token -> secret
const nonces = new Set();

function parseHeader(value) {
  if (!value?.startsWith('OAuth ')) return null;
  const out = {};
  for (const part of value.slice(6).split(',')) {
    const m = part.trim().match(/^([^=]+)="([^"]*)"$/);
    if (!m) return null;
    out[decodeURIComponent(m[1])] = decodeURIComponent(m[2]);
  }
  return out;
}

function formParams(body) {
  const data = {};
  for (const [k, v] of new URLSearchParams(body)) {
    if (k in data) data[k] = [].concat(data[k], v);
    else data[k] = v;
  }
  return data;
}

// Checks the request's signature; returns its protocol parameters and form data, or throws.
function verify(req, body, tokenSecret, expectedToken) {
  const header = parseHeader(req.headers.authorization);
  if (!header) throw new Error('no OAuth Authorization header');
  const { oauth_signature: signature, ...protocol } = header;
  if (protocol.oauth_consumer_key !== args['consumer-key']) throw new Error('unknown consumer');
  if (protocol.oauth_signature_method !== method) throw new Error(`signature method ${protocol.oauth_signature_method}`);
  if (expectedToken !== undefined && protocol.oauth_token !== expectedToken) throw new Error('wrong token');
  if (Math.abs(Date.now() / 1000 - Number(protocol.oauth_timestamp)) > 300) throw new Error('stale timestamp');
  if (nonces.has(protocol.oauth_nonce)) throw new Error('replayed nonce');
  const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? formParams(body) : {};
  const request = { url: `http://${req.headers.host}${req.url}`, method: req.method, data: { ...form } };
  const expected = oauth.getSignature(request, tokenSecret, { ...protocol });
  if (expected !== signature) {
    throw new Error(`bad signature; base string ${oauth.getBaseString(request, { ...protocol })}`);
  }
  nonces.add(protocol.oauth_nonce);
  return { protocol, form };
}

const reply = (res, status, type, body, headers = {}) => {
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(body);
};

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const url = new URL(req.url, `http://${req.headers.host}`);
    try {
      if (url.pathname === '/__stats') return reply(res, 200, 'application/json', JSON.stringify(stats));
      if (req.method === 'POST' && url.pathname === '/oauth/request_token') {
        stats.request_token += 1;
        const { protocol, form } = verify(req, body, undefined, undefined);
        if (!protocol.oauth_callback) throw new Error('no oauth_callback');
        if (form.x_auth_access_type !== 'write') throw new Error('x_auth_access_type missing');
        const token = randomUUID();
        temporary.set(token, { secret: randomUUID(), callback: protocol.oauth_callback, verifier: randomUUID() });
        const t = temporary.get(token);
        return reply(res, 200, 'application/x-www-form-urlencoded',
          new URLSearchParams({ oauth_token: token, oauth_token_secret: t.secret, oauth_callback_confirmed: 'true' }).toString());
      }
      if (req.method === 'GET' && url.pathname === '/oauth/authorize') {
        const t = temporary.get(url.searchParams.get('oauth_token'));
        if (!t) throw new Error('unknown request token');
        const back = new URL(t.callback);
        back.searchParams.set('oauth_token', url.searchParams.get('oauth_token'));
        back.searchParams.set('oauth_verifier', t.verifier);
        return reply(res, 302, 'text/plain', '', { location: back.href });
      }
      if (req.method === 'POST' && url.pathname === '/oauth/access_token') {
        stats.access_token += 1;
        const header = parseHeader(req.headers.authorization) ?? {};
        const t = temporary.get(header.oauth_token);
        if (!t) throw new Error('unknown request token');
        const { protocol } = verify(req, body, t.secret, header.oauth_token);
        if (protocol.oauth_verifier !== t.verifier) throw new Error('wrong verifier');
        temporary.delete(header.oauth_token);
        const token = randomUUID();
        const secret = randomUUID();
        tokens.set(token, secret);
        return reply(res, 200, 'application/x-www-form-urlencoded',
          new URLSearchParams({ oauth_token: token, oauth_token_secret: secret, user_id: '42', screen_name: 'ann' }).toString());
      }
      if (url.pathname.startsWith('/api/')) {
        stats.api += 1;
        const header = parseHeader(req.headers.authorization) ?? {};
        const secret = tokens.get(header.oauth_token);
        if (!secret) throw new Error('unknown access token');
        const { form } = verify(req, body, secret, header.oauth_token);
        const query = {};
        for (const k of new Set(url.searchParams.keys())) query[k] = url.searchParams.getAll(k);
        return reply(res, 200, 'application/json', JSON.stringify({ ok: true, method: req.method, query, form }));
      }
      return reply(res, 404, 'text/plain', 'not found');
    } catch (e) {
      stats.failures.push(`${req.method} ${url.pathname}: ${e.message}`);
      return reply(res, 401, 'text/plain', e.message);
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`);
});
