-- Several server replicas on one database (PostgreSQL) — portable here so both backends share the SQL.
-- A refresh lease on a connection: the replica holding it refreshes, the others wait and re-read.
ALTER TABLE connections ADD COLUMN refresh_lease_holder TEXT;
ALTER TABLE connections ADD COLUMN refresh_lease_until BIGINT;

-- OAuth results for the WebSocket channel, kept until the browser's socket (on any replica, or after a
-- reconnect) takes them.
CREATE TABLE oauth_results (
    ws_client_id TEXT PRIMARY KEY,
    frame        TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
