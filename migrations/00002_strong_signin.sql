-- +goose Up

-- webauthn_id is the account's WebAuthn user handle: random bytes, never the
-- email, so a passkey reveals nothing about whose it is.
ALTER TABLE accounts ADD COLUMN webauthn_id bytea UNIQUE;

-- passkeys are WebAuthn credentials. credential holds the library's record
-- (public key, flags, authenticator data); the columns beside it are what the
-- security page lists and what the sign-in checks compare.
CREATE TABLE passkeys (
    id              bytea PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name            text NOT NULL,
    credential      jsonb NOT NULL,
    aaguid          uuid,
    backup_eligible boolean NOT NULL,
    backup_state    boolean NOT NULL,
    sign_count      bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    clone_warning_at timestamptz
);
CREATE INDEX passkeys_account ON passkeys (account_id);

-- webauthn_challenges are ceremonies in progress: server side, bound to the
-- browser that began them (the SHA-256 of a cookie), single use, 5 minutes.
CREATE TABLE webauthn_challenges (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    browser_hash bytea NOT NULL,
    purpose      text NOT NULL,
    account_id   uuid REFERENCES accounts (id) ON DELETE CASCADE,
    session      jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);

-- totp_secrets hold one authenticator app per account, sealed with the
-- master key. last_used_step makes each 30-second step usable once.
CREATE TABLE totp_secrets (
    account_id     uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret         bytea NOT NULL,
    confirmed_at   timestamptz,
    last_used_step bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL
);

-- recovery_keys are stored only as hashes; a new set replaces the old one.
CREATE TABLE recovery_keys (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    set_id     uuid NOT NULL,
    key_hash   bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX recovery_keys_account ON recovery_keys (account_id);

-- A recovery session (signed in with a recovery key) may only reach the
-- security page until the person adds a passkey or sets a password, and
-- lives at most until restricted_until.
ALTER TABLE device_sessions ADD COLUMN restricted_until timestamptz;

-- pending_changes hold a sensitive change that waited for a step-up, so it
-- can be applied once the person has signed in again.
CREATE TABLE pending_changes (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_session_id uuid NOT NULL REFERENCES device_sessions (id) ON DELETE CASCADE,
    action            text NOT NULL,
    params            jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL
);

-- +goose Down
DROP TABLE pending_changes;
ALTER TABLE device_sessions DROP COLUMN restricted_until;
DROP TABLE recovery_keys;
DROP TABLE totp_secrets;
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
ALTER TABLE accounts DROP COLUMN webauthn_id;
