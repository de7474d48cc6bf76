-- +goose Up

-- The sweep ends the sessions of approved device authorizations whose
-- device never collected its tokens before the code expired
-- (idp.Storage.endExpiredApprovals). Most rows of the table are expired
-- codes of other states, kept an hour; this index holds only the approved
-- ones, so the sweep reads those and no others.
CREATE INDEX device_authorizations_approved_expiry ON device_authorizations (expires_at)
    WHERE status = 'approved' AND device_session_id IS NOT NULL;

-- +goose Down
DROP INDEX device_authorizations_approved_expiry;
