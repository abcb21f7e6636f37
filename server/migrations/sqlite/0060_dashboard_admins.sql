-- Issue 17. Dashboard administrators and their sessions. Passwords are argon2id PHC strings; a
-- session is stored by the SHA-256 of its cookie token (the token itself is never stored), with the
-- CSRF token its writes must carry. `session_generation` is bumped by "sign out everywhere": a
-- session of an older generation is refused. `failed_attempts`/`locked_until` (unix ms) hold the
-- sign-in lockout, shared by every replica.
CREATE TABLE dashboard_admins (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    email              TEXT NOT NULL UNIQUE,
    password_hash      TEXT NOT NULL,
    session_generation BIGINT NOT NULL DEFAULT 0,
    failed_attempts    BIGINT NOT NULL DEFAULT 0,
    locked_until       BIGINT,
    created_at         TEXT NOT NULL
);

CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id   BIGINT NOT NULL REFERENCES dashboard_admins (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    csrf_token TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_admin ON dashboard_sessions (admin_id);
