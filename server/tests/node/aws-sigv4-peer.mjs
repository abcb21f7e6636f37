// A local AWS for the AWS_SIGV4 auth mode (issue 15): every request's Signature Version 4 is
// recomputed with `aws4` (npm) from the request as received, as AWS does, and refused on mismatch.
//   POST /sts/               Action=AssumeRole, signed (service sts) with the integration owner's
//                            long-lived key → XML temporary credentials (built-in STS mode)
//   GET  /sts/?Action=GetCallerIdentity  signed with temporary credentials → XML, the assumed role
//   POST /custom-sts         the owner's own endpoint: JSON {role_arn, external_id, region, service},
//                            `x-api-key` checked → JSON temporary credentials (custom STS mode)
//   *    /svc/...            the signed service (execute-api): echoes what it verified
//   GET  /stats              how many temporary credentials were issued
// Started by server/tests/aws_sigv4.rs (one JSON line with its port) and by the Connect UI e2e
// stack (tests/src/connect_ui.rs, `--ready`).
import http from 'node:http';
import crypto from 'node:crypto';
import aws4 from 'aws4';

export const OWNER = { accessKeyId: 'AKIAOWNER0000EXAMPLE', secretAccessKey: 'owner/Secret+Key0000000000000000000000000' };
const ACCOUNT = '123456789012';
const STS_API_KEY = 'sts-api-key-1';

/** Access key id → { secret, sessionToken?, roleArn? } of every key this AWS knows. */
const keys = new Map([[OWNER.accessKeyId, { secret: OWNER.secretAccessKey }]]);
let issued = 0;
let lastExternalId = null;

function body(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function issue(roleArn) {
  issued += 1;
  const accessKeyId = `ASIA${crypto.randomBytes(8).toString('hex').toUpperCase()}`;
  const secret = crypto.randomBytes(30).toString('base64');
  const sessionToken = crypto.randomBytes(48).toString('base64');
  keys.set(accessKeyId, { secret, sessionToken, roleArn });
  return { accessKeyId, secret, sessionToken, expiration: new Date(Date.now() + 3600_000).toISOString() };
}

/** Recomputes the request's signature; throws what AWS would answer. Returns the signing key's entry. */
function verify(req, text, service) {
  const auth = req.headers.authorization || '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) throw new Error('IncompleteSignature');
  const [, accessKeyId, , region, signedService, signedList] = m;
  const key = keys.get(accessKeyId);
  if (!key) throw new Error('InvalidClientTokenId');
  if (signedService !== service) throw new Error(`SignatureDoesNotMatch: service ${signedService}`);
  const signed = signedList.split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256'])
    if (!signed.includes(required)) throw new Error(`SignatureDoesNotMatch: ${required} not signed`);
  if (key.sessionToken && req.headers['x-amz-security-token'] !== key.sessionToken)
    throw new Error('InvalidToken');
  const bodyHash = crypto.createHash('sha256').update(text).digest('hex');
  if (req.headers['x-amz-content-sha256'] !== bodyHash) throw new Error('XAmzContentSHA256Mismatch');
  const when = Date.parse(req.headers['x-amz-date'].replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!(Math.abs(Date.now() - when) < 5 * 60 * 1000)) throw new Error('RequestTimeTooSkewed');
  const headers = {};
  for (const name of signed) headers[name] = req.headers[name];
  const ignore = Object.create(null);
  for (const name of ['content-length', 'content-type']) if (!signed.includes(name)) ignore[name] = true;
  const request = { method: req.method, path: req.url, service, region, headers, body: text || undefined, extraHeadersToIgnore: ignore };
  aws4.sign(request, { accessKeyId, secretAccessKey: key.secret });
  if (request.headers.Authorization !== auth) throw new Error('SignatureDoesNotMatch');
  return { ...key, region };
}

function xml(res, status, value) {
  res.writeHead(status, { 'content-type': 'text/xml' }).end(value);
}

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const text = await body(req);
  try {
    if (url.pathname === '/sts/' && req.method === 'POST') {
      const form = new URLSearchParams(text);
      const key = verify(req, text, 'sts');
      if (key.sessionToken) throw new Error('AccessDenied: temporary credentials cannot assume roles here');
      if (form.get('Action') !== 'AssumeRole' || !form.get('RoleArn') || !form.get('RoleSessionName'))
        return xml(res, 400, '<ErrorResponse><Error><Message>bad AssumeRole</Message></Error></ErrorResponse>');
      lastExternalId = form.get('ExternalId');
      const c = issue(form.get('RoleArn'));
      return xml(
        res,
        200,
        `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId>` +
          `<SecretAccessKey>${c.secret}</SecretAccessKey><SessionToken>${c.sessionToken}</SessionToken>` +
          `<Expiration>${c.expiration}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
      );
    }
    if (url.pathname === '/sts/' && req.method === 'GET' && url.searchParams.get('Action') === 'GetCallerIdentity') {
      const key = verify(req, text, 'sts');
      const role = (key.roleArn || '').split('/').pop();
      return xml(
        res,
        200,
        `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::${ACCOUNT}:assumed-role/${role}/s</Arn>` +
          `<Account>${ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`,
      );
    }
    if (url.pathname === '/custom-sts' && req.method === 'POST') {
      if (req.headers['x-api-key'] !== STS_API_KEY) return json(res, 401, { message: 'bad api key' });
      const input = JSON.parse(text);
      lastExternalId = input.external_id;
      if (!input.role_arn || !input.region || input.service !== 'execute-api')
        return json(res, 400, { message: 'bad input' });
      const c = issue(input.role_arn);
      return json(res, 200, {
        credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secret, sessionToken: c.sessionToken, expiration: c.expiration },
      });
    }
    if (url.pathname.startsWith('/svc/')) {
      const key = verify(req, text, 'execute-api');
      return json(res, 200, { ok: true, region: key.region, role: key.roleArn, body: text, target: req.headers['x-amz-target'] || null });
    }
    if (url.pathname === '/stats') return json(res, 200, { issued, lastExternalId });
    return json(res, 404, { message: 'not found' });
  } catch (e) {
    return xml(res, 403, `<ErrorResponse><Error><Message>${String(e.message || e)}</Message></Error></ErrorResponse>`);
  }
});

// `--ready` (the e2e harness's NodePeer): `READY <base URL> <owner key id> <owner secret>`, and the
// process lives until killed; otherwise one JSON line and exit when stdin closes (server tests).
const ready = process.argv.includes('--ready');
server.listen(0, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  if (ready) console.log(`READY ${base} ${OWNER.accessKeyId} ${OWNER.secretAccessKey}`);
  else console.log(JSON.stringify({ port: server.address().port, owner: OWNER, stsApiKey: STS_API_KEY }));
});
if (!ready) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
