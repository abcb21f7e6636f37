// The demo page's script: exactly what the customer guide shows, with the SDK served by the Latchkey
// server (like a CDN) instead of a bundler import. Copy the `connect` click handler into your app.
//
// Nothing secret reaches this page: it gets a short-lived connect session token from its own backend
// (`POST /session-token`) and, after `connect`, asks its backend whether the connection has a token.

const button = document.getElementById('connect');
const status = document.getElementById('status');
const events = document.getElementById('events');

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

async function showConnection({ connectionId, providerConfigKey }) {
  const query = new URLSearchParams({ integration: providerConfigKey });
  try {
    const conn = await backendJson(`/api/connection/${encodeURIComponent(connectionId)}?${query}`);
    if (conn.hasAccessToken) {
      setStatus(`Connected ${conn.connectionId} to ${conn.providerConfigKey} — access token present`, 'ok');
    } else {
      setStatus(`Connected ${conn.connectionId} to ${conn.providerConfigKey} — but no access token was stored`, 'error');
    }
  } catch (err) {
    setStatus(`Connected ${connectionId}, but fetching the connection failed: ${err.message}`, 'error');
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
button.disabled = false;
setStatus('Ready.');

button.addEventListener('click', async () => {
  // Open the Connect UI first, inside the click; it shows a loading state until the token arrives.
  const connect = nango.openConnectUI({
    baseURL: config.connectUiUrl,
    apiURL: config.host,
    onEvent: (event) => {
      logEvent(event);
      if (event.type === 'close') {
        // The user closed the Connect UI (after success, or without completing auth).
      } else if (event.type === 'connect') {
        // Authorization succeeded. In production, take the connection id from the auth webhook instead.
        showConnection(event.payload);
      } else if (event.type === 'error') {
        setStatus(`Connection failed (${event.payload.errorType}): ${event.payload.errorMessage}`, 'error');
      }
    },
  });

  // Retrieve the session token from our backend endpoint.
  try {
    const { sessionToken } = await backendJson('/session-token', { method: 'POST' });
    // Pass the token to the Connect UI. A loading indicator is shown until this is set.
    connect.setSessionToken(sessionToken);
    setStatus('Connect UI open…');
  } catch (err) {
    connect.close();
    setStatus(`Could not start a connect session: ${err.message}`, 'error');
  }
});
