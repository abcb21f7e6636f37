#!/usr/bin/env node
// The local OAuth2 / OpenID Connect provider used by Latchkey's end-to-end tests and by the demo.
//
// It is panva's `oidc-provider` (a certified, well-kept implementation) configured with exactly one
// confidential client, so the flows our server runs against it are real: authorization code with PKCE
// S256 (required), client_secret_basic or client_secret_post at the token endpoint, refresh tokens
// with rotation, a userinfo endpoint at `/me`, and the library's built-in development login and consent
// pages (any login/password is accepted; the login becomes `sub`).
//
// Extra for tests:
// - `GET /__stats` answers the number of token-endpoint requests per grant_type (and every POST that
//   reached `/token` at all, parsed or not, in `token_endpoint_hits`), so a test can assert how many
//   refreshes actually reached the provider, or that a forged callback never reached it.
// - the client may also use the `client_credentials` grant (OAUTH2_CC tests).
// - an authorization request with `login_hint=deny` is answered as if the user pressed "Cancel" on the
//   consent screen: the provider redirects back with `error=access_denied` and an `error_description`
//   that carries markup (`<script>`, quotes, `&`), so tests can check it is shown escaped.
// - RFC 7009 revocation at `/token/revocation` (a revoked refresh token makes the next refresh fail).
// - `POST /__broken/token` answers a 502 HTML error page (a token endpoint behind a failing proxy).
// - `--token-delay-ms N` answers every token request N ms late, so concurrent callers surely overlap
//   one refresh (single-flight tests on a loaded machine).
// - a second client, `assertion-client`, authenticates with `private_key_jwt` (RFC 7523 client
//   assertions, ES256, key id `assertion-key-1`) for the `client_credentials` grant; `GET
//   /__assertion_key` answers its PKCS#8 private key, so a test can hand it over as an end user would
//   (TWO_STEP providers with a client assertion). The library verifies the assertion.
// - its HTML pages request no web fonts (the library's import Google Fonts): it works offline.
//
// Usage:
//   node tests/oidc/provider.mjs --port 0 --client-id ID --client-secret SECRET \
//        --redirect-uri http://localhost:3003/oauth/callback [--redirect-uri …] [--access-token-ttl 3600]
// Every option can also come from the environment: OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
// OIDC_REDIRECT_URIS (comma-separated), OIDC_ACCESS_TOKEN_TTL, OIDC_TOKEN_DELAY_MS.
// Once listening it prints exactly one line to stdout: `READY http://127.0.0.1:<port>`.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'access-token-ttl': { type: 'string' },
    'token-delay-ms': { type: 'string' },
  },
  strict: true,
});

function fail(message) {
  process.stderr.write(`oidc provider: ${message}\n`);
  process.exit(2);
}

function positiveInt(name, raw, fallback) {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) fail(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

const port = positiveInt('--port', args.port ?? process.env.OIDC_PORT, 0);
const clientId = args['client-id'] ?? process.env.OIDC_CLIENT_ID;
const clientSecret = args['client-secret'] ?? process.env.OIDC_CLIENT_SECRET;
const redirectUris = args['redirect-uri']
  ?? (process.env.OIDC_REDIRECT_URIS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const accessTokenTtl = positiveInt('--access-token-ttl', args['access-token-ttl'] ?? process.env.OIDC_ACCESS_TOKEN_TTL, 3600);
const tokenDelayMs = positiveInt('--token-delay-ms', args['token-delay-ms'] ?? process.env.OIDC_TOKEN_DELAY_MS, 0);

if (!clientId) fail('--client-id (or OIDC_CLIENT_ID) is required');
if (!clientSecret) fail('--client-secret (or OIDC_CLIENT_SECRET) is required');
if (redirectUris.length === 0) fail('at least one --redirect-uri (or OIDC_REDIRECT_URIS) is required');
if (accessTokenTtl === 0) fail('--access-token-ttl must be at least 1 second');

// Bind first so the issuer can carry the real port when `--port 0` asked for any free one.
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

/** Token-endpoint requests seen, per grant_type, split by outcome. */
const stats = { token_requests: {}, token_errors: {}, token_endpoint_hits: 0, broken_token_hits: 0 };
const bump = (bucket, key) => { bucket[key] = (bucket[key] ?? 0) + 1; };

/** The `private_key_jwt` client's EC key pair (made per run). */
const assertionKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ASSERTION_CLIENT = 'assertion-client';
const ASSERTION_KID = 'assertion-key-1';

const provider = new Provider(issuer, {
  clients: [{
    client_id: ASSERTION_CLIENT,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: { keys: [{ ...assertionKeys.publicKey.export({ format: 'jwk' }), kid: ASSERTION_KID, alg: 'ES256', use: 'sig' }] },
  }, {
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    // client_secret_post is accepted too: oidc-provider treats the two secret methods as equivalent.
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // Any login is an account; `sub` is the login itself.
  async findAccount(_ctx, accountId) {
    return {
      accountId,
      async claims() {
        const email = accountId.includes('@') ? accountId : `${accountId}@example.test`;
        return { sub: accountId, email, email_verified: true };
      },
    };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'offline_access', 'email'],
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: true },
    userinfo: { enabled: true },
    clientCredentials: { enabled: true },
    // RFC 7009 at /token/revocation: tests revoke a refresh token to make the next refresh fail.
    revocation: { enabled: true },
  },
  // PKCE S256 for every client, confidential ones included (v9 only requires it for public clients).
  pkce: { required: () => true },
  // Refresh tokens whenever the client may use them, without depending on the library's rule that
  // `offline_access` only survives with `prompt=consent`.
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: accessTokenTtl,
    ClientCredentials: accessTokenTtl,
    IdToken: 3600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    RefreshToken: 14 * 24 * 3600,
    Interaction: 3600,
    AuthorizationCode: 600,
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/__stats') {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'json';
    ctx.body = stats;
    return;
  }
  if (ctx.method === 'GET' && ctx.path === '/__assertion_key') {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'json';
    ctx.body = {
      client_id: ASSERTION_CLIENT,
      kid: ASSERTION_KID,
      private_key: assertionKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    };
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/token') {
    stats.token_endpoint_hits += 1;
    if (tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, tokenDelayMs));
  }
  if (ctx.method === 'POST' && ctx.path === '/__broken/token') {
    stats.broken_token_hits += 1;
    ctx.status = 502;
    ctx.type = 'html';
    ctx.body = '<!doctype html><html><body><h1>502 Bad Gateway</h1><p>upstream unavailable</p></body></html>';
    return;
  }
  const interaction = ctx.method === 'GET' && /^\/interaction\/[^/]+$/.test(ctx.path);
  if (interaction) {
    const details = await provider.interactionDetails(ctx.req, ctx.res).catch(() => undefined);
    if (details?.params?.login_hint === 'deny') {
      await provider.interactionFinished(ctx.req, ctx.res, {
        error: 'access_denied',
        error_description: 'The user said "no" & closed <script>alert(1)</script>',
      }, { mergeWithLastSubmission: false });
      ctx.respond = false;
      return;
    }
  }
  await next();
});

// The library's built-in pages import Roboto from Google Fonts; this provider runs offline (the demo,
// the tests on a closed network), so the pages use the system font instead of requesting one.
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com\/[^)]*\);?/g, '');
  }
});

// Count after the token endpoint ran: by then oidc-provider has parsed the form body.
provider.on('grant.success', (ctx) => bump(stats.token_requests, ctx.oidc.params?.grant_type ?? 'unknown'));
provider.on('grant.error', (ctx) => {
  const grantType = ctx.oidc?.params?.grant_type ?? 'unknown';
  bump(stats.token_requests, grantType);
  bump(stats.token_errors, grantType);
});

server.on('request', provider.callback());
process.stdout.write(`READY ${issuer}\n`);

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
