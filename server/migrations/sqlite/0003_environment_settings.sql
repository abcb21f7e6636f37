-- Per-environment settings (callback URL, webhook URLs and toggles, HMAC, allowed origins, Connect UI
-- theme) as one JSON document, read and written whole through `EnvironmentSettings`; the earlier
-- `callback_url` column (never written) moves into it.
ALTER TABLE environments DROP COLUMN callback_url;
ALTER TABLE environments ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
