-- Issue 11: one-time data migrations done in Rust (re-sealing credentials with an unambiguous
-- associated-data encoding) record here that they completed.
CREATE TABLE latchkey_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
