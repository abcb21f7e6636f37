// The official `@nangohq/frontend`, unchanged, submitting each credential kind to Latchkey
// (`nango.auth(key, {credentials})` → `POST /auth/two-step/:key`, `/auth/jwt/:key`, `/auth/bill/:key`,
// `/auth/signature/:key`, `/auth/tba/:key`). Its credential modes use plain `fetch`, so node runs it as
// a browser would. Started by server/tests/credential_modes/frontend.rs with the server URL and
// connect session tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Nango from '@nangohq/frontend';

const host = process.env.LATCHKEY_HOST;

test('TWO_STEP credentials through nango.auth()', async () => {
  const nango = new Nango({ host, connectSessionToken: process.env.TWO_STEP_SESSION });
  const result = await nango.auth('drupal', {
    credentials: { type: 'TWO_STEP', clientId: 'drupal-client', clientSecret: 'drupal-secret', userName: 'editor' },
  });
  assert.equal(result.providerConfigKey, 'drupal');
  assert.ok(result.connectionId);
});

test('a refused TWO_STEP login rejects with the server error code', async () => {
  const nango = new Nango({ host, connectSessionToken: process.env.TWO_STEP_SESSION });
  await assert.rejects(
    nango.auth('drupal', { credentials: { type: 'TWO_STEP', clientId: 'drupal-client', clientSecret: 'bad', userName: 'editor' } }),
    (e) => e.type === 'two_step_credentials_fetch_error',
  );
});

test('a client-assertion key passed as assertionOption (Apple Business Manager)', async () => {
  const nango = new Nango({ host, connectSessionToken: process.env.ABM_SESSION });
  const result = await nango.auth('abm', {
    credentials: { type: 'TWO_STEP', clientId: 'BUSINESSAPI.9703f56c', keyId: 'ABM-KEY-1' },
    assertionOption: { privateKey: process.env.ABM_KEY },
  });
  assert.equal(result.providerConfigKey, 'abm');
});

test('JWT credentials (Ghost admin key) through nango.auth()', async () => {
  const nango = new Nango({ host, connectSessionToken: process.env.JWT_SESSION });
  const result = await nango.auth('ghost', {
    params: { version: 'v5.0' },
    credentials: { type: 'JWT', privateKey: process.env.GHOST_KEY },
  });
  assert.equal(result.providerConfigKey, 'ghost');
});

test('Bill credentials through nango.auth()', async () => {
  const nango = new Nango({ host, connectSessionToken: process.env.BILL_SESSION });
  const result = await nango.auth('bill', {
    credentials: { username: 'ap@example.com', password: 'bill-pass', organization_id: 'org-1', dev_key: 'dev-1' },
  });
  assert.equal(result.providerConfigKey, 'bill');
});

test('SIGNATURE credentials through nango.auth()', async () => {
  const nango = new Nango({ host, connectSessionToken: process.env.SIGNATURE_SESSION });
  const result = await nango.auth('emarsys', {
    credentials: { type: 'SIGNATURE', username: 'emarsys_user', password: 'emarsys-secret' },
  });
  assert.equal(result.providerConfigKey, 'emarsys');
});

test('TBA credentials through nango.auth()', async () => {
  const nango = new Nango({ host, connectSessionToken: process.env.TBA_SESSION });
  const result = await nango.auth('netsuite', {
    params: { accountId: '1234567-sb1' },
    credentials: { token_id: 'tid-1', token_secret: 'ts-1' },
  });
  assert.equal(result.providerConfigKey, 'netsuite');
});
