-- +goose Up

-- Every hot lookup is an index lookup, whatever the size of the tables
-- (docs: "Scale"). These are the indexes the queries need that the earlier
-- migrations left out.

-- expires_at is when a live device session dies if nothing happens first:
-- the earliest of its absolute end, its idle end and a recovery session's
-- limit. A trigger keeps it, because timestamptz + interval cannot be
-- indexed as an expression; the expiry sweep walks it by index.
ALTER TABLE device_sessions ADD COLUMN expires_at timestamptz;

-- +goose StatementBegin
CREATE FUNCTION device_sessions_expires_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.expires_at := least(NEW.absolute_expires_at, NEW.last_active_at + NEW.idle_timeout, NEW.restricted_until);
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER device_sessions_expires_at BEFORE INSERT OR UPDATE OF absolute_expires_at, last_active_at, idle_timeout, restricted_until
    ON device_sessions FOR EACH ROW EXECUTE FUNCTION device_sessions_expires_at();
UPDATE device_sessions SET expires_at = least(absolute_expires_at, last_active_at + idle_timeout, restricted_until);
ALTER TABLE device_sessions ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX device_sessions_expiry ON device_sessions (expires_at) WHERE ended_at IS NULL;
-- The history sweep deletes sessions ended more than 30 days ago.
CREATE INDEX device_sessions_ended_at ON device_sessions (ended_at) WHERE ended_at IS NOT NULL;

-- Foreign keys that cascade from device sessions need an index on the
-- referencing column, or deleting an old session scans the whole table.
CREATE INDEX app_sessions_device ON app_sessions (device_session_id);
CREATE INDEX auth_requests_device ON auth_requests (device_session_id) WHERE device_session_id IS NOT NULL;
CREATE INDEX pending_changes_device ON pending_changes (device_session_id);
CREATE INDEX pending_changes_expiry ON pending_changes (expires_at);

-- The token sweep deletes refresh tokens past their expiry, revoked a day
-- ago or rotated out 30 days ago.
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX refresh_tokens_rotated ON refresh_tokens (rotated_at) WHERE rotated_at IS NOT NULL;

-- A passkey ceremony is found by the browser that began it.
CREATE INDEX webauthn_challenges_browser ON webauthn_challenges (browser_hash);

-- The throttle's sweep forgets old, unlocked failure counts.
CREATE INDEX signin_failures_last ON signin_failures (last_failed_at) WHERE locked_at IS NULL;

-- +goose Down
DROP INDEX signin_failures_last;
DROP INDEX webauthn_challenges_browser;
DROP INDEX refresh_tokens_rotated;
DROP INDEX refresh_tokens_revoked;
DROP INDEX refresh_tokens_expiry;
DROP INDEX pending_changes_expiry;
DROP INDEX pending_changes_device;
DROP INDEX auth_requests_device;
DROP INDEX app_sessions_device;
DROP INDEX device_sessions_ended_at;
DROP INDEX device_sessions_expiry;
DROP TRIGGER device_sessions_expires_at ON device_sessions;
DROP FUNCTION device_sessions_expires_at();
ALTER TABLE device_sessions DROP COLUMN expires_at;
