-- Replicas keep opened environments in memory (server/src/environment_cache.rs). Any change to an
-- environment row, whoever makes it (a replica, the CLI), is announced on this channel, so every
-- replica forgets its copies at once.
CREATE FUNCTION latchkey_environments_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('latchkey_environments', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER environments_changed AFTER INSERT OR UPDATE OR DELETE ON environments
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_environments_changed();
