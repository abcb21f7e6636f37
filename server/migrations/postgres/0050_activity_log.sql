-- Issue 17. The activity log: one row per operation (an OAuth attempt, a credential submission, a
-- refresh, a webhook delivery, a proxy call, a settings change) and its timeline of steps. Written
-- in batches by a background writer (crate::activity); `seq` orders entries for pagination and for
-- the live tail of every replica. Nothing here is ever a secret.
CREATE TABLE activity_log (
    seq            BIGSERIAL PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    environment_id BIGINT NOT NULL,
    op_type        TEXT NOT NULL,
    integration    TEXT,
    connection_id  TEXT,
    end_user_id    TEXT,
    outcome        TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    duration_ms    BIGINT
);
CREATE INDEX activity_log_env_seq ON activity_log (environment_id, seq);
CREATE INDEX activity_log_started ON activity_log (started_at);

CREATE TABLE activity_steps (
    seq      BIGSERIAL PRIMARY KEY,
    entry_id TEXT NOT NULL,
    at       BIGINT NOT NULL,
    level    TEXT NOT NULL,
    message  TEXT NOT NULL,
    detail   TEXT
);
CREATE INDEX activity_steps_entry ON activity_steps (entry_id, seq);
CREATE INDEX activity_steps_at ON activity_steps (at);
