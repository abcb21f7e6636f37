-- Issue 11 (finding 4): expired OAuth results are swept by expiry on every insert; without an index
-- that sweep read the whole table.
CREATE INDEX oauth_results_expires_at ON oauth_results (expires_at);
