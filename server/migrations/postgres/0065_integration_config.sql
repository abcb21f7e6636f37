-- Issue 15. An integration's `integration_config` values (Nango keeps them in the integration's
-- `custom` field): e.g. AWS SigV4's service, default region and STS settings, some of which are
-- secrets. Sealed as one JSON object, with the id of the key that sealed it (it may differ from
-- `key_id`, which is the client secret's).
ALTER TABLE integrations ADD COLUMN custom_enc BYTEA;
ALTER TABLE integrations ADD COLUMN custom_key_id TEXT;
