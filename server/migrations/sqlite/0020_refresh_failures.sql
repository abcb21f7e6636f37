-- Issue 4: failed token refreshes are counted per connection (reset by the next successful refresh),
-- with the time of the last failure; GET /connection(s)/:id reports them.
ALTER TABLE connections ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN last_refresh_failure_at TEXT;
