-- Durable webhook outbox: a webhook is a row first, delivered by a worker that survives restarts.
-- `next_attempt_at` doubles as a lease: a worker pushes it forward when it claims a row, so a row is
-- sent by one worker at a time.
CREATE TABLE webhook_outbox (
    id              TEXT PRIMARY KEY,
    environment_id  BIGINT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    TEXT,
    failed_at       TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
