-- Issue 15. An environment's public, opaque id: it names the environment in the URLs providers send
-- webhooks to (`/webhook/<uuid>/<integration>`, as Nango), where neither the name (guessable) nor a
-- key (rotated) belongs. Existing environments get a random one.
ALTER TABLE environments ADD COLUMN uuid TEXT;
UPDATE environments SET uuid = lower(hex(randomblob(16))) WHERE uuid IS NULL;
CREATE UNIQUE INDEX environments_uuid ON environments (uuid);
