#!/usr/bin/env node
// A remote MCP server and its OAuth 2.1 authorization server for Latchkey's MCP tests, built from the
// official `@modelcontextprotocol/sdk` server-side auth: `mcpAuthRouter` (RFC 8414 metadata, RFC 7591
// dynamic client registration, authorization with PKCE S256, token endpoint with client
// authentication) around the SDK's `DemoInMemoryAuthProvider` (which signs the user in at once).
//
// - The authorization server listens on one port (issuer `http://127.0.0.1:<as>/`).
// - The MCP server listens on another: `/mcp` is protected by the SDK's `requireBearerAuth` (answers
//   the user's identity to a valid token, 401 with `WWW-Authenticate: … resource_metadata=…` otherwise),
//   and `/.well-known/oauth-protected-resource/mcp` (RFC 9728) names the authorization server.
// - Resource indicators (RFC 8707) are enforced: the authorization request and every token request
//   must name the MCP server's resource.
// - The demo provider issues no refresh tokens; this script adds them (rotating) so refresh is testable.
// - `GET /__stats` on the authorization server: registrations and token requests per grant type.
//
// Usage: node tests/mcp/server.mjs [--access-token-ttl SECONDS]
// Prints one line when ready: `READY <authorization server URL> <MCP server URL>`.

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import express from 'express';
import { mcpAuthRouter, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidGrantError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { DemoInMemoryAuthProvider } from '@modelcontextprotocol/sdk/examples/server/demoInMemoryOAuthProvider.js';

const { values: args } = parseArgs({
  options: { 'access-token-ttl': { type: 'string' } },
  strict: true,
});
const ttl = Number(args['access-token-ttl'] ?? 3600);

const listen = (app) =>
  new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });

const stats = { registrations: 0, token_requests: {}, token_errors: [] };

// The MCP server's port must be known before the provider checks resources: bind it first.
const mcpApp = express();
const mcpServer = await listen(mcpApp);
const mcpUrl = new URL(`http://127.0.0.1:${mcpServer.address().port}/mcp`);

class Provider extends DemoInMemoryAuthProvider {
  constructor() {
    super((resource) => resource !== undefined && resource.toString() === mcpUrl.href);
    this.refreshTokens = new Map();
  }

  async exchangeAuthorizationCode(client, code, verifier, redirectUri, resource) {
    if (resource?.toString() !== mcpUrl.href) throw new InvalidGrantError('token request without the MCP resource');
    const tokens = await super.exchangeAuthorizationCode(client, code, verifier);
    return this.withRefresh(client, tokens);
  }

  async exchangeRefreshToken(client, refreshToken, scopes, resource) {
    const data = this.refreshTokens.get(refreshToken);
    if (!data || data.clientId !== client.client_id) throw new InvalidGrantError('unknown refresh token');
    if (resource?.toString() !== mcpUrl.href) throw new InvalidGrantError('refresh without the MCP resource');
    this.refreshTokens.delete(refreshToken);
    const access = randomUUID();
    this.tokens.set(access, { ...data.token, token: access, expiresAt: Date.now() + ttl * 1000 });
    return this.withRefresh(client, { access_token: access, token_type: 'bearer', scope: data.token.scopes.join(' ') });
  }

  withRefresh(client, tokens) {
    const token = this.tokens.get(tokens.access_token);
    token.expiresAt = Date.now() + ttl * 1000;
    const refresh = randomUUID();
    this.refreshTokens.set(refresh, { clientId: client.client_id, token });
    return { ...tokens, expires_in: ttl, refresh_token: refresh };
  }
}

const provider = new Provider();
const asApp = express();
const asServer = await listen(asApp);
const issuer = new URL(`http://127.0.0.1:${asServer.address().port}/`);

asApp.get('/__stats', (_req, res) => res.json(stats));
asApp.use((req, res, next) => {
  if (req.method === 'POST' && req.path === '/register') stats.registrations += 1;
  if (req.method === 'POST' && req.path === '/token') {
    express.urlencoded({ extended: false })(req, res, () => {
      const grant = req.body?.grant_type ?? 'none';
      stats.token_requests[grant] = (stats.token_requests[grant] ?? 0) + 1;
      const json = res.json.bind(res);
      res.json = (body) => {
        if (res.statusCode >= 400) stats.token_errors.push(body);
        return json(body);
      };
      next();
    });
    return;
  }
  next();
});
const router = mcpAuthRouter({
  provider,
  issuerUrl: issuer,
  scopesSupported: ['mcp:tools'],
  resourceServerUrl: mcpUrl,
});
asApp.use(router);

const oauthMetadata = {
  issuer: issuer.href,
  authorization_endpoint: new URL('/authorize', issuer).href,
  token_endpoint: new URL('/token', issuer).href,
  registration_endpoint: new URL('/register', issuer).href,
  response_types_supported: ['code'],
  code_challenge_methods_supported: ['S256'],
};
mcpApp.use(mcpAuthMetadataRouter({ oauthMetadata, resourceServerUrl: mcpUrl, scopesSupported: ['mcp:tools'] }));
const resourceMetadataUrl = `http://127.0.0.1:${mcpServer.address().port}/.well-known/oauth-protected-resource/mcp`;
mcpApp.all('/mcp', requireBearerAuth({ verifier: provider, resourceMetadataUrl }), (req, res) => {
  res.json({ client_id: req.auth.clientId, resource: req.auth.resource?.toString() ?? null, user: 'demo_user' });
});

process.stdout.write(`READY ${issuer.href.replace(/\/$/, '')} ${mcpUrl.href}\n`);
