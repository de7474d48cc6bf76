-- +goose Up

-- device_authorizations are command-line sign-ins in progress (OAuth 2.0
-- Device Authorization Grant, RFC 8628), owned by idp: from the device
-- authorization request until the device has collected its tokens. Only
-- SHA-256 hashes of the device code and of the normalised user code are
-- kept. The row outlives its redemption until it expires, so a device code
-- presented twice is recognised.
CREATE TABLE device_authorizations (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id           text NOT NULL,
    device_code_hash    bytea NOT NULL UNIQUE,
    user_code_hash      bytea NOT NULL,
    scopes              text[] NOT NULL,
    -- device_name is the name the device reported for itself, cleaned.
    device_name         text NOT NULL DEFAULT '',
    ip                  inet,
    user_agent          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    interval_seconds    integer NOT NULL,
    last_polled_at      timestamptz NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
    decided_at          timestamptz,
    account_id          uuid REFERENCES accounts (id) ON DELETE CASCADE,
    -- The device session the approval created, and its app session.
    device_session_id   uuid,
    app_session_id      uuid,
    redeemed_at         timestamptz
);
-- A user code is looked up while it is pending; once decided it is spent.
CREATE UNIQUE INDEX device_authorizations_user_code ON device_authorizations (user_code_hash) WHERE status = 'pending';
CREATE INDEX device_authorizations_expiry ON device_authorizations (expires_at);
CREATE INDEX device_authorizations_account ON device_authorizations (account_id) WHERE account_id IS NOT NULL;

-- A device session signed in by approving a device authorization names the
-- browser session that approved it (approved_on is that device's name, kept
-- when the browser session is gone).
ALTER TABLE device_sessions
    ADD COLUMN approved_by_session uuid,
    ADD COLUMN approved_on         text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE device_sessions DROP COLUMN approved_by_session, DROP COLUMN approved_on;
DROP TABLE device_authorizations;
