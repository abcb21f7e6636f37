// Local stand-ins for the providers of the credential-based auth modes (issue 15), each checking
// what the real provider checks, with real libraries (`jose` verifies the JWTs):
//   TWO_STEP  POST /two-step/token      form client_credentials → access_token (Drupal-like);
//             GET  /two-step/api        Bearer <issued token>
//   JWT       GET  /ghost/users         `Authorization: Ghost <jwt>`, HS256 with the hex secret, kid, aud
//             GET  /apple/apps          `Authorization: Bearer <jwt>`, ES256 with our public key, iss, aud
//   BILL      POST /bill/login          JSON login → sessionId; GET /bill/api needs `sessionId` header
//   SIGNATURE GET  /emarsys/settings    X-WSSE UsernameToken recomputed from the password
//   TWO_STEP  POST /sap/Login          JSON login → SessionId + B1SESSION/ROUTEID cookies (SAP B1-like);
//             GET  /sap/Items          needs both cookies
//   INSTALL_PLUGIN GET /crisp/v1/plugin/connect/account  Basic <plugin identifier:key>, x-crisp-tier
//   TBA       GET  /netsuite/record/... OAuth 1.0a HMAC-SHA256 signature recomputed by `oauth-1.0a`
//             (the library Nango signs NetSuite requests with), realm = the account id
//   TWO_STEP  POST /abm/token           client_credentials with an ES256 `client_assertion` (Apple
//             Business Manager-like): `jose` verifies it with the EC public key, kid, iss, sub, aud
//   TWO_STEP  POST /sf/oauth/token      SAP SuccessFactors' SAML 2.0 bearer grant: `xml-crypto` (the
//             library Nango signs with) checks the assertion's XML signature with the RSA public
//             key; issuer, name id, audience, recipient and the api_key attribute are checked
//   APP       POST /github/app/installations/:id/access_tokens  GitHub's installation token endpoint:
//             `jose` verifies the app JWT (RS256 with the app's public key, iss = the app id, at most
//             ten minutes); GET /github/api/installation/repositories needs an issued token
//   CUSTOM    POST /github/login/oauth/access_token  GitHub's user token endpoint (client id and
//             secret, a code the install page issued, or a refresh token; expiring user tokens with
//             rotating refresh tokens); GET /github/api/user answers the login to a user token
//   TWO_STEP  POST /intacct/xmlgw       Sage Intacct's XML login, read by `fast-xml-parser` (the
//             parser Nango uses): sender and user credentials → an XML answer with a session id
//   Install pages (the Connect UI's end-to-end tests, where a browser follows them):
//             GET  /github/apps/latchkey-test/installations/new  → the server's /app-auth/connect with
//                  installation_id 4242, setup_action install and the state (GitHub after "Install")
//             GET  /github/apps/latchkey-oauth/installations/new  → the server's /oauth/callback with
//                  a code too (an app that requests user authorization during installation);
//                  `?approval=1` on the app link: no installation id, setup_action request (an
//                  organization owner must approve the installation first)
//             GET  /crisp/install            → the server's /oauth/callback with the payload as state
//                  and a website_id (Crisp's marketplace after the plugin is added)
//             the server's URL is set with POST /__setup {"server": …}; GET /__keys answers the key
//             material the tests hand over.
// Started by server/tests/common/credential_modes.rs; prints one JSON line: the port and the key
// material.
// With `--ready` (tests/src/connect_ui.rs, through NodePeer) it prints `READY <base URL>` instead and
// keeps running until killed.
import http from 'node:http';
import crypto from 'node:crypto';
import { jwtVerify, generateKeyPair, exportPKCS8 } from 'jose';
import OAuth from 'oauth-1.0a';
import { XMLParser } from 'fast-xml-parser';
import { SignedXml } from 'xml-crypto';
import { DOMParser } from '@xmldom/xmldom';

const TWO_STEP = { client_id: 'drupal-client', client_secret: 'drupal-secret', username: 'editor' };
const GHOST_ID = '0123456789abcdef01234567';
const GHOST_SECRET = 'ab'.repeat(32);
const BILL = { username: 'ap@example.com', password: 'bill-pass', organizationId: 'org-1', devKey: 'dev-1' };
const EMARSYS = { username: 'emarsys_user', password: 'emarsys-secret' };
const APPLE_ISSUER = '57246542-96fe-1a63-e053-0824d011072a';
const NETSUITE = { consumerKey: 'ck-1', consumerSecret: 'cs-1', tokenId: 'tid-1', tokenSecret: 'ts-1', realm: '1234567_SB1' };

const { publicKey: applePublic, privateKey: applePrivate } = await generateKeyPair('ES256', { extractable: true });
const applePem = await exportPKCS8(applePrivate);
// A key pair the providers do not know, to show a wrong key is refused.
const otherPem = await exportPKCS8((await generateKeyPair('ES256', { extractable: true })).privateKey);

const ABM = { clientId: 'BUSINESSAPI.9703f56c', keyId: 'ABM-KEY-1' };
const INTACCT = { senderid: 'sender-1', senderPassword: 'sender-pass', companyid: 'ACME', userid: 'xml_user', userPassword: 'user-pass' };
const assertionsSeen = new Set();
const SF = { apiKey: 'c2YtYXBpLWtleS0xMjM0NTY3ODkw', companyId: 'SFPART01', userName: 'sfadmin' };
const sfKeys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const sfPrivatePem = sfKeys.privateKey.export({ type: 'pkcs8', format: 'pem' });
const samlSeen = new Set();
const GITHUB_APP = { id: '123456', installation: '4242' };
// CUSTOM (github-app-oauth): the app's OAuth client, and the user GitHub signs in.
const GITHUB_OAUTH = { clientId: 'Iv1.latchkeytest', clientSecret: 'gh-oauth-secret', login: 'octo-user' };
const githubCodes = new Set();
const githubUserTokens = new Map(); // access token → expires at (ms)
const githubRefreshTokens = new Set();
let githubUserTokenRequests = { authorization_code: 0, refresh_token: 0 };
const appKeys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const appPrivatePem = appKeys.privateKey.export({ type: 'pkcs8', format: 'pem' });
const installationTokens = new Set();
let installationTokenRequests = 0;

const issued = new Set();
let tokenRequests = 0;
/** Where the install pages send the user back (set by the test, as an app's setup URL is). */
let serverBase = null;
const sessions = new Set();
const seenNonces = new Set();

function body(req) {
  return new Promise((resolve) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => resolve(b));
  });
}

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

async function verifyGhost(req) {
  const [scheme, token] = (req.headers.authorization || '').split(' ');
  if (scheme !== 'Ghost') throw new Error('not a Ghost token');
  const { protectedHeader } = await jwtVerify(token, Buffer.from(GHOST_SECRET, 'hex'), {
    algorithms: ['HS256'],
    audience: '/admin/',
    maxTokenAge: '5m',
  });
  if (protectedHeader.kid !== GHOST_ID) throw new Error('wrong kid');
  if (req.headers['accept-version'] !== 'v5.0') throw new Error('no accept-version');
}

async function verifyApple(req) {
  const [scheme, token] = (req.headers.authorization || '').split(' ');
  if (scheme !== 'Bearer') throw new Error('not a Bearer token');
  const { protectedHeader } = await jwtVerify(token, applePublic, {
    algorithms: ['ES256'],
    audience: 'appstoreconnect-v1',
    issuer: APPLE_ISSUER,
    maxTokenAge: '20m',
  });
  if (protectedHeader.kid !== 'KEY123') throw new Error('wrong kid');
}

/** Apple Business Manager's token endpoint: the client assertion signed with the account's EC key. */
async function verifyClientAssertion(form, audience) {
  if (form.grant_type !== 'client_credentials' || form.client_id !== ABM.clientId)
    throw new Error('wrong grant or client');
  if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    throw new Error('wrong assertion type');
  const { protectedHeader, payload } = await jwtVerify(form.client_assertion, applePublic, {
    algorithms: ['ES256'],
    audience,
    issuer: ABM.clientId,
    subject: ABM.clientId,
  });
  if (protectedHeader.kid !== ABM.keyId) throw new Error('wrong kid');
  if (!payload.jti || !payload.iat || !payload.exp) throw new Error('jti, iat and exp are required');
  assertionsSeen.add(form.client_assertion);
}

/** SAP SuccessFactors' token endpoint: a signed SAML assertion for the API key's user. */
function verifySamlBearer(form, recipient) {
  const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
  if (form.grant_type !== 'urn:ietf:params:oauth:grant-type:saml2-bearer') throw new Error('wrong grant');
  if (form.client_id !== SF.apiKey || form.company_id !== SF.companyId) throw new Error('unknown client');
  const xml = Buffer.from(form.assertion || '', 'base64').toString('utf8');
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const signature = doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0];
  if (!signature) throw new Error('the assertion is not signed');
  const sig = new SignedXml({ publicCert: sfKeys.publicKey.export({ type: 'spki', format: 'pem' }) });
  sig.loadSignature(signature);
  if (!sig.checkSignature(xml)) throw new Error('bad signature');
  // Only what the signature covers is read.
  const [signed] = sig.getSignedReferences();
  const a = new DOMParser().parseFromString(signed, 'text/xml');
  const first = (name) => a.getElementsByTagNameNS(SAML, name)[0];
  if (first('Issuer')?.textContent !== 'www.successfactors.com') throw new Error('wrong issuer');
  if (first('NameID')?.textContent !== SF.userName) throw new Error('wrong user');
  if (first('Audience')?.textContent !== 'www.successfactors.com') throw new Error('wrong audience');
  if (first('SubjectConfirmationData')?.getAttribute('Recipient') !== recipient) throw new Error('wrong recipient');
  if (Date.parse(first('Conditions')?.getAttribute('NotOnOrAfter')) < Date.now()) throw new Error('expired');
  const attributes = [...a.getElementsByTagNameNS(SAML, 'Attribute')];
  const apiKey = attributes.find((e) => e.getAttribute('Name') === 'api_key');
  if (apiKey?.textContent !== SF.apiKey) throw new Error('wrong api_key attribute');
  samlSeen.add(form.assertion);
}

/** GitHub's `POST /app/installations/:id/access_tokens`: the app's own JWT, RS256, ≤ 10 minutes. */
async function installationToken(req, id) {
  const [scheme, jwt] = (req.headers.authorization || '').split(' ');
  if (scheme !== 'Bearer') throw new Error('not a Bearer JWT');
  const { payload } = await jwtVerify(jwt, appKeys.publicKey, { algorithms: ['RS256'], issuer: GITHUB_APP.id });
  if (payload.exp - payload.iat > 600) throw new Error("'Expiration time' claim ('exp') is too far in the future");
  installationTokenRequests += 1;
  if (id !== GITHUB_APP.installation) return null;
  const token = `ghs_${crypto.randomUUID().replaceAll('-', '')}`;
  installationTokens.add(token);
  return { token, expires_at: new Date(Date.now() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
           permissions: { contents: 'read' }, repository_selection: 'all' };
}

/** Sage Intacct's XML gateway: the sender and the user log in; the answer carries the session. */
function intacctLogin(text) {
  const doc = new XMLParser({ ignoreAttributes: false }).parse(text);
  const control = doc.request?.control ?? {};
  const op = doc.request?.operation ?? {};
  const login = op.authentication?.login ?? {};
  const fn = op.content?.function ?? {};
  const ok = control.senderid === INTACCT.senderid && control.password === INTACCT.senderPassword &&
    login.companyid === INTACCT.companyid && login.userid === INTACCT.userid &&
    login.password === INTACCT.userPassword && fn['@_controlid'] && 'getAPISession' in fn;
  const sessionid = crypto.randomUUID();
  const timeout = new Date(Date.now() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, '+00:00');
  return ok
    ? `<?xml version="1.0" encoding="UTF-8"?>
<response><control><status>success</status></control><operation>
<authentication><status>success</status><userid>${INTACCT.userid}</userid><sessiontimeout>${timeout}</sessiontimeout></authentication>
<result><status>success</status><function>getAPISession</function><data><api><sessionid>${sessionid}</sessionid>
<endpoint>https://api.intacct.com/ia/xml/xmlgw.phtml</endpoint></api></data></result></operation></response>`
    : null;
}

/** The WSSE check Emarsys does: digest = base64(hex(sha1(nonce + created + secret))), fresh nonce. */
function verifyWsse(req) {
  const header = req.headers['x-wsse'] || '';
  const field = (name) => (new RegExp(`${name}="([^"]*)"`).exec(header) || [])[1];
  const [user, digest, nonce, created] = ['Username', 'PasswordDigest', 'Nonce', 'Created'].map(field);
  if (user !== EMARSYS.username) throw new Error('unknown user');
  const expected = Buffer.from(
    crypto.createHash('sha1').update(nonce + created + EMARSYS.password).digest('hex'),
  ).toString('base64');
  if (digest !== expected) throw new Error('bad digest');
  if (Math.abs(Date.now() - Date.parse(created)) > 5 * 60 * 1000) throw new Error('stale');
  if (seenNonces.has(nonce)) throw new Error('replayed nonce');
  seenNonces.add(nonce);
}

/** NetSuite's check: the OAuth 1.0a HMAC-SHA256 signature over method, URL and query, and the realm. */
function verifyTba(req) {
  const header = req.headers.authorization || '';
  if (!header.startsWith('OAuth ')) throw new Error('not OAuth');
  const params = Object.fromEntries(
    [...header.slice(6).matchAll(/([a-z_]+)="([^"]*)"/g)].map(([, k, v]) => [k, decodeURIComponent(v)]),
  );
  if (params.realm !== NETSUITE.realm) throw new Error(`wrong realm ${params.realm}`);
  if (params.oauth_consumer_key !== NETSUITE.consumerKey || params.oauth_token !== NETSUITE.tokenId)
    throw new Error('unknown consumer or token');
  const oauth = new OAuth({
    consumer: { key: NETSUITE.consumerKey, secret: NETSUITE.consumerSecret },
    signature_method: 'HMAC-SHA256',
    hash_function: (base, key) => crypto.createHmac('sha256', key).update(base).digest('base64'),
  });
  const { realm, oauth_signature, ...oauthData } = params;
  const url = `http://${req.headers.host}${req.url}`;
  const expected = oauth.getSignature({ url, method: req.method }, NETSUITE.tokenSecret, oauthData);
  if (oauth_signature !== expected) throw new Error('bad signature');
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const text = await body(req);
  try {
    const installation = /^\/github\/app\/installations\/([^/]+)\/access_tokens$/.exec(url.pathname);
    if (req.method === 'POST' && installation) {
      const answer = await installationToken(req, installation[1]);
      return answer ? send(res, 201, answer) : send(res, 404, { message: 'Not Found' });
    }
    switch (`${req.method} ${url.pathname}`) {
      case 'POST /__setup':
        serverBase = JSON.parse(text).server.replace(/\/+$/, '');
        return send(res, 200, {});
      case 'GET /__keys':
        return send(res, 200, keys());
      case 'GET /github/apps/latchkey-test/installations/new': {
        const back = new URL(`${serverBase}/app-auth/connect`);
        back.search = new URLSearchParams({ installation_id: GITHUB_APP.installation, setup_action: 'install',
          state: url.searchParams.get('state') ?? '' }).toString();
        return res.writeHead(302, { location: back.toString() }).end();
      }
      case 'GET /github/apps/latchkey-oauth/installations/new':
      case 'GET /github/apps/latchkey-oauth-approval/installations/new': {
        const code = `code-${crypto.randomUUID()}`;
        githubCodes.add(code);
        const back = new URL(`${serverBase}/oauth/callback`);
        const approval = url.pathname.includes('-approval');
        back.search = new URLSearchParams({ code, state: url.searchParams.get('state') ?? '',
          ...(approval ? { setup_action: 'request' } : { installation_id: GITHUB_APP.installation, setup_action: 'install' }) }).toString();
        return res.writeHead(302, { location: back.toString() }).end();
      }
      case 'POST /github/login/oauth/access_token': {
        const form = Object.fromEntries(new URLSearchParams(text));
        if (form.client_id !== GITHUB_OAUTH.clientId || form.client_secret !== GITHUB_OAUTH.clientSecret)
          return send(res, 200, { error: 'incorrect_client_credentials' });
        const known = form.grant_type === 'refresh_token' ? githubRefreshTokens : githubCodes;
        const presented = form.grant_type === 'refresh_token' ? form.refresh_token : form.code;
        if (!known.delete(presented)) return send(res, 200, { error: 'bad_verification_code' });
        githubUserTokenRequests[form.grant_type] += 1;
        const access = `ghu_${crypto.randomUUID().replaceAll('-', '')}`;
        const refresh = `ghr_${crypto.randomUUID().replaceAll('-', '')}`;
        // Short-lived when asked (the renewal test): `?ttl=` is not GitHub's; 8 hours otherwise.
        const ttl = Number(url.searchParams.get('ttl') ?? 28800);
        githubUserTokens.set(access, Date.now() + ttl * 1000);
        githubRefreshTokens.add(refresh);
        return send(res, 200, { access_token: access, expires_in: ttl, refresh_token: refresh,
          refresh_token_expires_in: 15811200, token_type: 'bearer', scope: '' });
      }
      case 'GET /github/api/user': {
        const token = (req.headers.authorization || '').replace(/^Bearer /, '');
        return (githubUserTokens.get(token) ?? 0) > Date.now()
          ? send(res, 200, { login: GITHUB_OAUTH.login, id: 1 })
          : send(res, 401, { message: 'Bad credentials' });
      }
      case 'GET /github/user-stats':
        return send(res, 200, githubUserTokenRequests);
      case 'GET /crisp/install': {
        const back = new URL(`${serverBase}/oauth/callback`);
        back.search = new URLSearchParams({ state: url.searchParams.get('payload') ?? '', website_id: 'w-e2e' }).toString();
        return res.writeHead(302, { location: back.toString() }).end();
      }
      case 'GET /github/api/installation/repositories': {
        const token = (req.headers.authorization || '').replace(/^Bearer /, '');
        return installationTokens.has(token)
          ? send(res, 200, { total_count: 0, repositories: [] })
          : send(res, 401, { message: 'Bad credentials' });
      }
      case 'GET /github/stats':
        return send(res, 200, { tokenRequests: installationTokenRequests });
      case 'POST /two-step/token': {
        if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
          return send(res, 415, { error: 'form expected' });
        const form = Object.fromEntries(new URLSearchParams(text));
        tokenRequests += 1;
        if (form.grant_type !== 'client_credentials' || form.client_id !== TWO_STEP.client_id ||
            form.client_secret !== TWO_STEP.client_secret || form.username !== TWO_STEP.username)
          return send(res, 401, { error: 'invalid_client' });
        const token = crypto.randomUUID();
        issued.add(token);
        // As slow as a real provider, so that callers racing for a renewal are all queued behind
        // the first one (the single-flight test) even on a loaded machine.
        await new Promise((resolve) => setTimeout(resolve, 500));
        return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
      }
      case 'GET /two-step/api': {
        const token = (req.headers.authorization || '').replace(/^Bearer /, '');
        return issued.has(token) ? send(res, 200, { ok: true }) : send(res, 401, { error: 'bad token' });
      }
      case 'GET /two-step/stats':
        return send(res, 200, { tokenRequests });
      case 'GET /ghost/users':
        await verifyGhost(req);
        return send(res, 200, { users: [] });
      case 'GET /apple/apps':
        await verifyApple(req);
        return send(res, 200, { data: [] });
      case 'POST /bill/login': {
        const login = JSON.parse(text || '{}');
        for (const k of Object.keys(BILL)) {
          if (login[k] !== BILL[k]) return send(res, 400, { message: 'BDC_1109: Invalid credentials' });
        }
        const sessionId = crypto.randomUUID();
        sessions.add(sessionId);
        return send(res, 200, { sessionId, organizationId: BILL.organizationId, userId: 'user-9' });
      }
      case 'GET /bill/api':
        return sessions.has(req.headers.sessionid) && req.headers.devkey === BILL.devKey
          ? send(res, 200, { ok: true })
          : send(res, 401, { message: 'BDC_1361: Session is invalid' });
      case 'GET /netsuite/record/v1/customer':
        verifyTba(req);
        return send(res, 200, { items: [] });
      case 'POST /sap/Login': {
        const login = JSON.parse(text || '{}');
        if (login.UserName !== 'manager' || login.Password !== 'sap-pass' || login.CompanyDB !== 'SBODEMO')
          return send(res, 401, { error: { message: 'Invalid login credential.' } });
        const id = crypto.randomUUID();
        sessions.add(id);
        res.setHeader('set-cookie', [`B1SESSION=${id}; path=/b1s/v1; Secure; HttpOnly`, 'ROUTEID=.node1; path=/b1s']);
        return send(res, 200, { SessionId: id, SessionTimeout: 30 });
      }
      case 'GET /sap/Items': {
        const cookies = Object.fromEntries(
          (req.headers.cookie || '').split(';').map((c) => c.trim().split('=')),
        );
        return sessions.has(cookies.B1SESSION) && cookies.ROUTEID === '.node1'
          ? send(res, 200, { value: [] })
          : send(res, 401, { error: { message: 'Invalid session.' } });
      }
      case 'GET /crisp/v1/plugin/connect/account': {
        const expected = `Basic ${Buffer.from('plugin-id:plugin-key').toString('base64')}`;
        return req.headers.authorization === expected && req.headers['x-crisp-tier'] === 'plugin'
          ? send(res, 200, { error: false, data: { plugin_id: 'plugin-id' } })
          : send(res, 401, { error: true, reason: 'invalid_session' });
      }
      case 'POST /abm/token': {
        await verifyClientAssertion(Object.fromEntries(new URLSearchParams(text)), `http://${req.headers.host}/abm/token`);
        return send(res, 200, { access_token: crypto.randomUUID(), token_type: 'Bearer', expires_in: 3600 });
      }
      case 'POST /sf/oauth/token': {
        verifySamlBearer(Object.fromEntries(new URLSearchParams(text)), `http://${req.headers.host}/sf/oauth/token`);
        return send(res, 200, { access_token: crypto.randomUUID(), token_type: 'Bearer', expires_in: 86400 });
      }
      case 'GET /sf/stats':
        return send(res, 200, { assertions: samlSeen.size });
      case 'GET /abm/stats':
        return send(res, 200, { assertions: assertionsSeen.size });
      case 'POST /intacct/xmlgw': {
        if (!String(req.headers['content-type']).startsWith('application/xml'))
          return send(res, 415, { error: 'XML expected' });
        const answer = intacctLogin(text);
        return answer
          ? res.writeHead(200, { 'content-type': 'application/xml' }).end(answer)
          : res.writeHead(200, { 'content-type': 'application/xml' }).end(
              '<response><control><status>failure</status></control><errormessage><error><description2>Sign-in information is incorrect</description2></error></errormessage></response>');
      }
      case 'GET /emarsys/settings':
        verifyWsse(req);
        return send(res, 200, { replyCode: 0 });
      default:
        return send(res, 404, { error: 'not found' });
    }
  } catch (e) {
    return send(res, 401, { error: String(e.message || e), message: String(e.message || e) });
  }
});

function keys() {
  return { port: server.address().port, applePrivateKey: applePem, otherPrivateKey: otherPem, sfPrivateKey: sfPrivatePem,
           githubAppPrivateKey: appPrivatePem, appleIssuer: APPLE_ISSUER };
}

const ready = process.argv.includes('--ready');
server.listen(0, '127.0.0.1', () => {
  if (ready) {
    console.log(`READY http://127.0.0.1:${server.address().port}`);
  } else {
    console.log(JSON.stringify(keys()));
  }
});
if (!ready) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
