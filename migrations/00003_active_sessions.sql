-- +goose Up

-- What the active sessions page shows of a device session, worked out once
-- at sign-in: a readable device name, its kind (for the icon), a coarse
-- place, the sign-in method, and the trusted device it came from.
ALTER TABLE device_sessions
    ADD COLUMN device_name       text NOT NULL DEFAULT '',
    ADD COLUMN device_kind       text NOT NULL DEFAULT 'unknown',
    ADD COLUMN place             text NOT NULL DEFAULT '',
    ADD COLUMN trusted_device_id uuid;
CREATE INDEX device_sessions_ended ON device_sessions (account_id, ended_at DESC) WHERE ended_at IS NOT NULL;

-- trusted_devices are browsers that completed a multi-factor sign-in with
-- "trust this device": the cookie holds a secret, the table its SHA-256.
CREATE TABLE trusted_devices (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX trusted_devices_account ON trusted_devices (account_id);

-- known_devices remember which browsers an account has signed in from (by
-- the SHA-256 of a long-lived device cookie), so a sign-in from a new one is
-- recorded as such.
CREATE TABLE known_devices (
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_hash bytea NOT NULL,
    first_seen  timestamptz NOT NULL,
    PRIMARY KEY (account_id, device_hash)
);

-- logout_jobs are back-channel logouts to deliver (OIDC Back-Channel Logout
-- 1.0), written in the transaction that ends a session so none is lost, and
-- delivered by any replica with retries.
CREATE TABLE logout_jobs (
    id                bigserial PRIMARY KEY,
    app_session_id    uuid NOT NULL REFERENCES app_sessions (id) ON DELETE CASCADE,
    device_session_id uuid NOT NULL,
    account_id        uuid NOT NULL,
    client_id         text NOT NULL,
    uri               text NOT NULL,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL,
    last_error        text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    delivered_at      timestamptz
);
CREATE INDEX logout_jobs_due ON logout_jobs (next_attempt_at) WHERE status = 'pending';
CREATE INDEX logout_jobs_app_session ON logout_jobs (app_session_id);

-- +goose Down
DROP TABLE logout_jobs;
DROP TABLE known_devices;
DROP TABLE trusted_devices;
DROP INDEX device_sessions_ended;
ALTER TABLE device_sessions DROP COLUMN device_name, DROP COLUMN device_kind, DROP COLUMN place, DROP COLUMN trusted_device_id;
