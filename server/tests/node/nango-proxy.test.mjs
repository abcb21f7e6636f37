// `@nangohq/node`'s proxy calls (`get`, `post`, `put`, `patch`, `delete`, `proxy`) through a running
// Latchkey server to a real local API server (this file's `http` server on LATCHKEY_API_PORT), which
// records what reached it. Started by `server/tests/nango_node_client.rs`, which writes a catalog whose
// `proxy` blocks point at that port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Nango } from '@nangohq/node';

const host = process.env.LATCHKEY_HOST;
const secretKey = process.env.LATCHKEY_SECRET_KEY;
const apiPort = Number(process.env.LATCHKEY_API_PORT);
const nango = new Nango({ host, secretKey });

/** Every request the API server received, and hits per path. */
const seen = [];
const hits = (path) => seen.filter((r) => r.path === path).length;
const last = (path) => seen.filter((r) => r.path === path).at(-1);

const api = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://api.local');
    const record = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    };
    seen.push(record);
    const json = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/api/flaky') {
      // Rate-limited on the first call only, asking for a 1-second pause.
      return hits('/api/flaky') === 1
        ? json(429, { error: 'slow down' }, { 'retry-after': '1' })
        : json(200, { ok: true });
    }
    if (url.pathname === '/api/unavailable') return json(503, { error: 'down' });
    if (url.pathname === '/api/missing') return json(404, { message: 'no such item' }, { 'x-upstream': 'yes' });
    const status = req.method === 'POST' ? 201 : 200;
    json(status, record, { 'x-ratelimit-remaining': '42', 'x-request-id': 'req-1' });
  });
});

/** Imports a connection with known credentials (`POST /connections`, secret key). */
async function importConnection(body) {
  const res = await fetch(`${host}/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, await res.text());
}

before(async () => {
  await new Promise((resolve) => api.listen(apiPort, '127.0.0.1', resolve));
  await nango.createIntegration({ provider: 'proxy-oauth', unique_key: 'oauth',
    credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret', scopes: 'read' } });
  for (const [key, provider] of [['header-key', 'proxy-header-key'], ['query-key', 'proxy-query-key'],
    ['basic', 'proxy-basic'], ['no-base', 'proxy-no-base']]) {
    await nango.createIntegration({ provider, unique_key: key });
  }
  const farFuture = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
  await importConnection({ provider_config_key: 'oauth', connection_id: 'c-oauth',
    credentials: { type: 'OAUTH2', access_token: 'at-1', expires_at: farFuture } });
  await importConnection({ provider_config_key: 'header-key', connection_id: 'c-header',
    connection_config: { tenant: 'acme' }, credentials: { type: 'API_KEY', apiKey: 'hk-1' } });
  await importConnection({ provider_config_key: 'query-key', connection_id: 'c-query',
    credentials: { type: 'API_KEY', apiKey: 'qk-1' } });
  await importConnection({ provider_config_key: 'basic', connection_id: 'c-basic',
    credentials: { type: 'BASIC', username: 'ann', password: 'p@ss' } });
  await importConnection({ provider_config_key: 'no-base', connection_id: 'c-no-base',
    credentials: { type: 'API_KEY', apiKey: 'nb-1' } });
});

after(() => api.close());

test('get: OAuth2 bearer injected, query and custom headers passed, control headers not', async () => {
  const res = await nango.get({ endpoint: '/v1/users/me', providerConfigKey: 'oauth', connectionId: 'c-oauth',
    params: { page: '2', q: 'a b' }, headers: { 'X-Custom': 'custom-value' } });
  assert.equal(res.status, 200);
  assert.equal(res.data.path, '/api/v1/users/me');
  assert.deepEqual(res.data.query, { page: '2', q: 'a b' });
  const h = res.data.headers;
  assert.equal(h.authorization, 'Bearer at-1', 'the connection token, not the secret key');
  assert.equal(h['x-custom'], 'custom-value', 'Nango-Proxy-X-Custom arrives without its prefix');
  for (const name of ['connection-id', 'provider-config-key', 'base-url-override', 'nango-proxy-x-custom', 'retries']) {
    assert.equal(h[name], undefined, `${name} is not forwarded`);
  }
  assert.ok(!JSON.stringify(h).includes(secretKey), 'the secret key never reaches the provider');
  // The provider's own headers come back (its rate-limit headers win over Latchkey's).
  assert.equal(res.headers['x-ratelimit-remaining'], '42');
  assert.equal(res.headers['x-request-id'], 'req-1');
});

test('API key in a header from the provider template, tenant interpolated into the base URL', async () => {
  const res = await nango.get({ endpoint: 'projects', providerConfigKey: 'header-key', connectionId: 'c-header' });
  assert.equal(res.data.path, '/tenants/acme/projects');
  assert.equal(res.data.headers['x-api-key'], 'hk-1');
  assert.equal(res.data.headers['x-api-version'], '2024-01-01');
  assert.equal(res.data.headers.authorization, undefined, 'the template says where the key goes');
});

test('API key in the query from the provider template; Basic auth', async () => {
  const q = await nango.get({ endpoint: '/search', providerConfigKey: 'query-key', connectionId: 'c-query',
    params: { term: 'x' } });
  assert.deepEqual(q.data.query, { term: 'x', api_key: 'qk-1' });
  const b = await nango.get({ endpoint: '/whoami', providerConfigKey: 'basic', connectionId: 'c-basic' });
  assert.equal(b.data.headers.authorization, `Basic ${Buffer.from('ann:p@ss').toString('base64')}`);
});

test('post, put, patch, delete and proxy(): method, JSON body and status pass through', async () => {
  const created = await nango.post({ endpoint: '/items', providerConfigKey: 'oauth', connectionId: 'c-oauth',
    data: { name: 'widget', tags: ['a'] } });
  assert.equal(created.status, 201);
  assert.equal(created.data.method, 'POST');
  assert.deepEqual(JSON.parse(created.data.body), { name: 'widget', tags: ['a'] });
  assert.match(created.data.headers['content-type'], /^application\/json/);
  for (const method of ['put', 'patch', 'delete']) {
    const res = await nango[method]({ endpoint: '/items/1', providerConfigKey: 'oauth', connectionId: 'c-oauth',
      data: method === 'delete' ? undefined : { n: 1 } });
    assert.equal(res.data.method, method.toUpperCase());
  }
  const raw = await nango.proxy({ method: 'POST', endpoint: '/raw', providerConfigKey: 'oauth', connectionId: 'c-oauth',
    data: 'plain text', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(raw.data.body, 'plain text');
  assert.equal(raw.data.headers['content-type'], 'text/plain');
});

test('Base-Url-Override replaces the provider base URL and keeps the credentials', async () => {
  const res = await nango.get({ endpoint: '/thing', providerConfigKey: 'oauth', connectionId: 'c-oauth',
    baseUrlOverride: `http://127.0.0.1:${apiPort}/elsewhere` });
  assert.equal(res.data.path, '/elsewhere/thing');
  assert.equal(res.data.headers.authorization, 'Bearer at-1');
});

test('429 with Retry-After is retried after the pause when retries are allowed', async () => {
  const started = Date.now();
  const res = await nango.get({ endpoint: '/flaky', providerConfigKey: 'oauth', connectionId: 'c-oauth', retries: 3 });
  assert.equal(res.status, 200);
  assert.equal(hits('/api/flaky'), 2, 'one 429, then the success');
  assert.ok(Date.now() - started >= 1000, 'waited for Retry-After');
});

test('a POST is not retried unless Retry-On names the status; a GET is', async () => {
  await assert.rejects(
    nango.post({ endpoint: '/unavailable', providerConfigKey: 'oauth', connectionId: 'c-oauth', retries: 2, data: {} }),
    (e) => e.response?.status === 503,
  );
  assert.equal(hits('/api/unavailable'), 1, 'the POST reached the provider once');
  await assert.rejects(
    nango.post({ endpoint: '/unavailable', providerConfigKey: 'oauth', connectionId: 'c-oauth', retries: 1,
      retryOn: [503], data: { again: true } }),
    (e) => e.response?.status === 503,
  );
  assert.equal(hits('/api/unavailable'), 3, 'Retry-On: 503 opted in: one retry');
  assert.equal(last('/api/unavailable').body, '{"again":true}', 'the body was sent again');
  await assert.rejects(
    nango.get({ endpoint: '/unavailable', providerConfigKey: 'oauth', connectionId: 'c-oauth', retries: 1 }),
    (e) => e.response?.status === 503,
  );
  assert.equal(hits('/api/unavailable'), 5, 'the GET was retried once');
});

test('upstream errors pass through with their status, headers and body', async () => {
  await assert.rejects(
    nango.get({ endpoint: '/missing', providerConfigKey: 'oauth', connectionId: 'c-oauth' }),
    (e) => e.response?.status === 404 && e.response.data.message === 'no such item'
      && e.response.headers['x-upstream'] === 'yes',
  );
});

test('the proxy refuses with Nango error codes', async () => {
  await assert.rejects(
    nango.get({ endpoint: '/x', providerConfigKey: 'oauth', connectionId: 'nope' }),
    (e) => e.response?.status === 404 && e.response.data.error.code === 'unknown_connection',
  );
  await assert.rejects(
    nango.get({ endpoint: '/x', providerConfigKey: 'nope', connectionId: 'c-oauth' }),
    (e) => e.response?.status === 404 && e.response.data.error.code === 'unknown_provider_config',
  );
  await assert.rejects(
    nango.get({ endpoint: '/x', providerConfigKey: 'no-base', connectionId: 'c-no-base' }),
    (e) => e.response?.status === 400 && e.response.data.error.code === 'unsupported_provider',
  );
  const noHeaders = await fetch(`${host}/proxy/x`, { headers: { authorization: `Bearer ${secretKey}` } });
  assert.equal(noHeaders.status, 400);
  const body = await noHeaders.json();
  assert.equal(body.error.code, 'invalid_headers');
  assert.deepEqual(body.error.errors.map((i) => i.path[0]), ['provider-config-key', 'connection-id']);
  const anonymous = await fetch(`${host}/proxy/x`, { headers: { 'connection-id': 'c-oauth', 'provider-config-key': 'oauth' } });
  assert.equal(anonymous.status, 401);
  // Without a provider base URL, an override is enough.
  const overridden = await nango.get({ endpoint: '/ok', providerConfigKey: 'no-base', connectionId: 'c-no-base',
    baseUrlOverride: `http://127.0.0.1:${apiPort}/api` });
  assert.equal(overridden.data.headers.authorization, 'Bearer nb-1', 'an API key with no template is a bearer');
});
