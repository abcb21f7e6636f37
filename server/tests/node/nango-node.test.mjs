// The official `@nangohq/node` client, unchanged but for `host`, against a running Latchkey server.
// Started by `server/tests/nango_node_client.rs`, which passes the server URL, the keys and a free port
// for the webhook receiver in the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Nango } from '@nangohq/node';

const host = process.env.LATCHKEY_HOST;
const nango = new Nango({
  host,
  secretKey: process.env.LATCHKEY_SECRET_KEY,
  webhookSigningKey: process.env.LATCHKEY_WEBHOOK_SIGNING_KEY,
});

/** Receives webhooks on the port the server was configured with. */
function webhookReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.writeHead(200).end();
    });
  });
  server.listen(Number(process.env.LATCHKEY_WEBHOOK_PORT), '127.0.0.1');
  return { received, close: () => server.close() };
}

async function waitFor(predicate, what, ms = 10000) {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The browser's part: hand an API key over with the session token (what the Connect UI does). */
async function connectApiKey(token, integration, apiKey) {
  const res = await fetch(`${host}/api-auth/api-key/${integration}?connect_session_token=${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).connectionId;
}

test('integrations: create, list, get, delete', async () => {
  const created = await nango.createIntegration({ provider: 'github', unique_key: 'gh', display_name: 'GitHub' ,
    credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret', scopes: 'repo' } });
  assert.equal(created.data.unique_key, 'gh');
  const { configs } = await nango.listIntegrations();
  assert.ok(configs.some((c) => c.unique_key === 'gh' && c.provider === 'github'));
  // The client sends only the last element of an `include` array (addQueryParams uses
  // searchParams.set in its loop), so each part is asked for on its own.
  const one = await nango.getIntegration({ uniqueKey: 'gh' }, { include: ['credentials'] });
  assert.equal(one.data.display_name, 'GitHub');
  assert.deepEqual(one.data.credentials, { type: 'OAUTH2', client_id: 'id', client_secret: 'secret', scopes: 'repo', webhook_secret: null });
  const hooked = await nango.getIntegration({ uniqueKey: 'gh' }, { include: ['webhook'] });
  assert.equal(hooked.data.webhook_url, null);
  assert.equal('credentials' in hooked.data, false);
  const plain = await nango.getIntegration({ uniqueKey: 'gh' });
  assert.equal('credentials' in plain.data, false);
  await nango.deleteIntegration('gh');
  await assert.rejects(nango.getIntegration({ uniqueKey: 'gh' }), (e) => e.response?.status === 404);
});

test('providers: list and get', async () => {
  const list = await nango.listProviders({});
  assert.ok(list.data.length >= 50);
  const salesforce = await nango.getProvider({ provider: 'salesforce' });
  assert.equal(salesforce.data.auth_mode, 'OAUTH2');
  assert.deepEqual(salesforce.data.token_response_metadata, ['instance_url']);
});

test('sessions, connections, metadata, reconnect, webhook signature', async () => {
  const hooks = webhookReceiver();
  try {
    await nango.createIntegration({ provider: 'openai', unique_key: 'openai' });
    const { data } = await nango.createConnectSession({
      tags: { end_user_id: 'user-1', end_user_email: 'user-1@example.com', organization_id: 'org-1' },
      allowed_integrations: ['openai'],
    });
    assert.match(data.token, /^nango_connect_session_[0-9a-f]{64}$/);
    assert.ok(data.connect_link.includes(`session_token=${data.token}`));
    assert.ok(Date.parse(data.expires_at) > Date.now());

    const connectionId = await connectApiKey(data.token, 'openai', 'sk-first');
    const connection = await nango.getConnection('openai', connectionId);
    assert.deepEqual(connection.credentials, { type: 'API_KEY', apiKey: 'sk-first' });
    assert.equal(connection.tags.organization_id, 'org-1');
    assert.deepEqual(await nango.getToken('openai', connectionId), { type: 'API_KEY', apiKey: 'sk-first' });

    const { connections } = await nango.listConnections();
    assert.ok(connections.some((c) => c.connection_id === connectionId && c.provider_config_key === 'openai'));

    await nango.setMetadata('openai', connectionId, { owner: 'acme', repo: 'a' });
    await nango.updateMetadata('openai', connectionId, { repo: 'b' });
    assert.deepEqual(await nango.getMetadata('openai', connectionId), { owner: 'acme', repo: 'b' });

    const reconnect = await nango.createReconnectSession({ connection_id: connectionId, integration_id: 'openai' });
    assert.equal(await connectApiKey(reconnect.data.token, 'openai', 'sk-second'), connectionId);
    assert.equal((await nango.getConnection('openai', connectionId)).credentials.apiKey, 'sk-second');

    await waitFor(() => hooks.received.length >= 2, 'the creation and override webhooks');
    const operations = hooks.received.map((h) => JSON.parse(h.body).operation).sort();
    assert.deepEqual(operations, ['creation', 'override']);
    for (const { body, headers } of hooks.received) {
      assert.equal(nango.verifyIncomingWebhookRequest(body, headers), true, 'signature verifies with @nangohq/node');
      assert.equal(nango.verifyIncomingWebhookRequest(body.replace('openai', 'openaj'), headers), false);
    }

    await nango.deleteConnection('openai', connectionId);
    await assert.rejects(nango.getConnection('openai', connectionId), (e) => e.response?.status === 404);
  } finally {
    hooks.close();
  }
});

test('bad input is a 4xx with the Nango error envelope', async () => {
  await assert.rejects(
    nango.createConnectSession({ end_user: { id: 'u' }, allowed_integrations: ['does-not-exist'] }),
    (e) => e.response?.status === 400 && e.response.data.error.code === 'invalid_body',
  );
  const wrong = new Nango({ host, secretKey: '0b5a3b9e-7c1d-4f2a-9e6b-3d2c1b0a9f8e' });
  await assert.rejects(wrong.listIntegrations(), (e) => e.response?.status === 401 && e.response.data.error.code === 'unknown_account');
});

// Issue 3. Kept after the webhook test: connections made here enqueue webhooks of their own.
test('integrations: update (display name, rename); connections: list filters', async () => {
  await nango.createIntegration({ provider: 'github', unique_key: 'gh-upd',
    credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'secret', scopes: 'repo' } });
  const updated = await nango.updateIntegration({ uniqueKey: 'gh-upd' }, { display_name: 'GitHub (work)', unique_key: 'gh-work' });
  assert.equal(updated.data.unique_key, 'gh-work');
  assert.equal(updated.data.display_name, 'GitHub (work)');
  assert.equal((await nango.getIntegration({ uniqueKey: 'gh-work' })).data.display_name, 'GitHub (work)');
  await assert.rejects(nango.updateIntegration({ uniqueKey: 'gh-work' }, { credentials: { type: 'API_KEY' } }),
    (e) => e.response?.status === 400 && e.response.data.error.code === 'invalid_body');

  await nango.createIntegration({ provider: 'openai', unique_key: 'oa-filter' });
  const ids = {};
  for (const user of ['alice', 'bob']) {
    const { data } = await nango.createConnectSession({
      end_user: { id: user, display_name: `User ${user}` }, organization: { id: `org-${user}` },
      allowed_integrations: ['oa-filter'],
    });
    ids[user] = await connectApiKey(data.token, 'oa-filter', `sk-${user}`);
  }
  const only = (list) => list.connections.map((c) => c.connection_id).sort();
  assert.deepEqual(only(await nango.listConnections({ userId: 'alice' })), [ids.alice]);
  assert.deepEqual(only(await nango.listConnections(undefined, undefined, { endUserOrganizationId: 'org-bob' })), [ids.bob]);
  assert.deepEqual(only(await nango.listConnections({ integrationId: ['oa-filter'], tags: { organization_id: 'org-alice' } })), [ids.alice]);
  assert.deepEqual(only(await nango.listConnections(ids.bob)), [ids.bob]);
  assert.deepEqual(only(await nango.listConnections(undefined, 'user bo')), [ids.bob]);
  assert.equal((await nango.listConnections({ integrationId: 'oa-filter', limit: 1 })).connections.length, 1);
});
