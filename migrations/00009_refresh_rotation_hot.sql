-- +goose Up

-- A refresh rotates one token per request: the update that marks it rotated
-- must not touch any index, so PostgreSQL can keep the new row version on
-- the same page (a HOT update) instead of writing an entry into each of the
-- table's indexes. So rotated_at and revoked_at are indexed by nothing,
-- the sweep deletes refresh tokens by their expiry alone (a rotated or
-- revoked token is useless and small until then, and a rotated one still
-- tells a replay apart from an unknown token), and every page keeps room
-- for the new versions.
DROP INDEX refresh_tokens_revoked;
DROP INDEX refresh_tokens_rotated;
ALTER TABLE refresh_tokens SET (fillfactor = 80);

-- +goose Down
ALTER TABLE refresh_tokens RESET (fillfactor);
CREATE INDEX refresh_tokens_rotated ON refresh_tokens (rotated_at) WHERE rotated_at IS NOT NULL;
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
