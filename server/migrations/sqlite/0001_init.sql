-- Latchkey schema, SQLite flavour. Secrets are never stored in clear: keys and credentials are
-- AES-256-GCM ciphertexts (`*_enc`, with the id of the key that sealed them), tokens and OAuth states
-- are stored only as SHA-256 hex digests (`*_hash`).

CREATE TABLE environments (
    id                      INTEGER PRIMARY KEY,
    name                    TEXT NOT NULL UNIQUE,
    secret_key_hash         TEXT NOT NULL UNIQUE,
    secret_key_enc          BLOB NOT NULL,
    public_key              TEXT NOT NULL UNIQUE,
    webhook_signing_key_enc BLOB NOT NULL,
    key_id                  TEXT NOT NULL,
    callback_url            TEXT,
    created_at              TEXT NOT NULL
);

CREATE TABLE integrations (
    id                INTEGER PRIMARY KEY,
    environment_id    INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    unique_key        TEXT NOT NULL,
    provider          TEXT NOT NULL,
    display_name      TEXT,
    client_id         TEXT,
    client_secret_enc BLOB,
    key_id            TEXT,
    scopes            TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (environment_id, unique_key)
);

CREATE TABLE connect_sessions (
    id                           INTEGER PRIMARY KEY,
    environment_id               INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    token_hash                   TEXT NOT NULL UNIQUE,
    end_user                     TEXT,
    organization                 TEXT,
    allowed_integrations         TEXT,
    integrations_config_defaults TEXT,
    tags                         TEXT,
    reconnect_connection_id      TEXT,
    expires_at                   INTEGER NOT NULL,
    created_at                   TEXT NOT NULL
);

CREATE TABLE oauth_attempts (
    state_hash          TEXT PRIMARY KEY,
    environment_id      INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    connect_session_id  INTEGER REFERENCES connect_sessions(id) ON DELETE SET NULL,
    provider_config_key TEXT NOT NULL,
    connection_id       TEXT NOT NULL,
    code_verifier_enc   BLOB NOT NULL,
    key_id              TEXT NOT NULL,
    browser_binding_hash TEXT NOT NULL,
    ws_client_id        TEXT,
    opener_origin       TEXT,
    connection_config   TEXT NOT NULL,
    callback_url        TEXT NOT NULL,
    tags                TEXT,
    end_user            TEXT,
    expires_at          INTEGER NOT NULL
);

CREATE TABLE connections (
    id                  INTEGER PRIMARY KEY,
    environment_id      INTEGER NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    provider_config_key TEXT NOT NULL,
    connection_id       TEXT NOT NULL,
    provider            TEXT NOT NULL,
    credentials_enc     BLOB NOT NULL,
    key_id              TEXT NOT NULL,
    connection_config   TEXT NOT NULL,
    metadata            TEXT NOT NULL,
    tags                TEXT NOT NULL,
    end_user            TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (environment_id, provider_config_key, connection_id)
);
