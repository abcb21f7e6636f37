-- Issue 12. Outbox rows are claimed one at a time with a random token; completion is conditional on
-- it, so a replica whose lease ran out cannot overwrite another's result.
ALTER TABLE webhook_outbox ADD COLUMN claim TEXT;
CREATE INDEX webhook_outbox_env ON webhook_outbox (environment_id, created_at);
-- Failing refresh days (at most one per UTC day, like Nango's refresh_attempts): exhaustion stops
-- automatic refreshes of a dead grant until it is reconnected or refreshed by force.
ALTER TABLE connections ADD COLUMN refresh_failure_days BIGINT NOT NULL DEFAULT 0;
