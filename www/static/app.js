// The demo page's script: exactly what the customer guide shows, with the SDK served by the Latchkey
// server (like a CDN) instead of a bundler import. Copy the `openConnect` function into your app.
//
// Nothing secret reaches this page: it gets a short-lived connect session token from its own backend
// (`POST /session-token`, or `POST /session-token/reconnect` to renew an existing connection) and,
// after `connect`, asks its backend whether the connection holds credentials.

const button = document.getElementById('connect');
const status = document.getElementById('status');
const events = document.getElementById('events');
const connections = document.getElementById('connections');
const themeSelect = document.getElementById('theme');
const langSelect = document.getElementById('lang');

function setStatus(text, kind) {
  status.textContent = text;
  status.className = kind ?? '';
}

function logEvent(event) {
  const li = document.createElement('li');
  li.textContent = event.type;
  events.append(li);
}

async function backendJson(path, init) {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const message = body?.error?.message ?? `${res.status} ${res.statusText}`;
    throw new Error(message);
  }
  return body;
}

const STORED = {
  OAUTH2: 'access token present',
  OAUTH2_CC: 'access token present',
  API_KEY: 'API key stored',
  BASIC: 'login stored',
  NONE: 'no credentials needed',
};

async function showConnection({ connectionId, providerConfigKey }) {
  const query = new URLSearchParams({ integration: providerConfigKey });
  try {
    const conn = await backendJson(`/api/connection/${encodeURIComponent(connectionId)}?${query}`);
    if (conn.hasCredentials) {
      setStatus(`Connected ${conn.connectionId} to ${conn.providerConfigKey} — ${STORED[conn.authMode] ?? 'credentials stored'}`, 'ok');
    } else {
      setStatus(`Connected ${conn.connectionId} to ${conn.providerConfigKey} — but no credentials were stored`, 'error');
    }
  } catch (err) {
    setStatus(`Connected ${connectionId}, but fetching the connection failed: ${err.message}`, 'error');
  }
  listConnections();
}

async function listConnections() {
  let list;
  try {
    list = await backendJson('/api/connections');
  } catch (err) {
    connections.textContent = `Could not list connections: ${err.message}`;
    return;
  }
  connections.replaceChildren();
  if (list.length === 0) {
    connections.textContent = 'None yet.';
    return;
  }
  for (const c of list) {
    const li = document.createElement('li');
    li.dataset.connectionId = c.connectionId;
    const label = document.createElement('span');
    label.textContent = `${c.providerConfigKey} · ${c.connectionId} `;
    const reconnect = document.createElement('button');
    reconnect.type = 'button';
    reconnect.className = 'secondary';
    reconnect.textContent = 'Reconnect';
    reconnect.addEventListener('click', () =>
      openConnect('/session-token/reconnect', { connectionId: c.connectionId, integration: c.providerConfigKey }),
    );
    li.append(label, reconnect);
    connections.append(li);
  }
}

let config;
let Nango;
try {
  config = await backendJson('/config.json');
  const sdkUrl = new URL('sdk/index.js', config.host.endsWith('/') ? config.host : `${config.host}/`);
  ({ default: Nango } = await import(sdkUrl.href));
} catch (err) {
  setStatus(`Could not load the Latchkey SDK: ${err.message}`, 'error');
  throw err;
}

const nango = new Nango({ host: config.host });

// Opens the Connect UI inside the click (it shows a loading state until the token arrives), then
// fetches a session token from our backend at `tokenPath`.
async function openConnect(tokenPath, body) {
  let outcome = null;
  const props = {
    baseURL: config.connectUiUrl,
    apiURL: config.host,
    onEvent: (event) => {
      logEvent(event);
      if (event.type === 'close') {
        // The user closed the Connect UI (×, Escape, a click on the backdrop, or Finish).
        if (!outcome) setStatus('Connect UI closed without connecting.');
      } else if (event.type === 'connect') {
        // Authorization succeeded. In production, take the connection id from the auth webhook instead.
        outcome = 'connect';
        showConnection(event.payload);
      } else if (event.type === 'error') {
        outcome = 'error';
        setStatus(`Connection failed (${event.payload.errorType}): ${event.payload.errorMessage}`, 'error');
      }
    },
  };
  // Try the Connect UI's dark theme and its other languages (both are optional props).
  if (themeSelect.value !== 'system') props.themeOverride = themeSelect.value;
  if (langSelect.value) props.lang = langSelect.value;
  const connect = nango.openConnectUI(props);

  // Retrieve the session token from our backend endpoint.
  try {
    const init = { method: 'POST' };
    if (body) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const { sessionToken } = await backendJson(tokenPath, init);
    setStatus('Connect UI open…');
    // Pass the token to the Connect UI. A loading indicator is shown until this is set.
    connect.setSessionToken(sessionToken);
  } catch (err) {
    connect.close();
    setStatus(`Could not start a connect session: ${err.message}`, 'error');
  }
}

button.addEventListener('click', () => openConnect('/session-token'));
button.disabled = false;
setStatus('Ready.');
listConnections();
