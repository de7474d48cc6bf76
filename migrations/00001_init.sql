-- +goose Up

-- accounts are people. email_key is the lower-cased email used for look-ups,
-- so "Ada@Example.com" and "ada@example.com" are one account.
CREATE TABLE accounts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    email_key     text NOT NULL UNIQUE,
    name          text NOT NULL DEFAULT '',
    security_mode text NOT NULL DEFAULT 'standard' CHECK (security_mode IN ('standard', 'advanced')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- passwords hold one argon2id PHC string per account.
CREATE TABLE passwords (
    account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    hash       text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- signin_failures counts consecutive failed sign-ins per email key, whether or
-- not an account has that email, so the throttle itself reveals nothing.
CREATE TABLE signin_failures (
    email_key      text PRIMARY KEY,
    failures       integer NOT NULL DEFAULT 0,
    last_failed_at timestamptz NOT NULL,
    locked_at      timestamptz
);

-- device_sessions are sign-ins on one device or browser: the SSO session whose
-- id is the OIDC sid. Only the SHA-256 of the cookie secret is stored.
CREATE TABLE device_sessions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id          uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind                text NOT NULL DEFAULT 'browser',
    secret_hash         bytea NOT NULL UNIQUE,
    created_at          timestamptz NOT NULL,
    auth_time           timestamptz NOT NULL,
    amr                 text[] NOT NULL DEFAULT '{}',
    acr                 text NOT NULL DEFAULT '',
    last_active_at      timestamptz NOT NULL,
    idle_timeout        interval NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    ip                  inet,
    user_agent          text NOT NULL DEFAULT '',
    ended_at            timestamptz,
    end_reason          text
);
CREATE INDEX device_sessions_account ON device_sessions (account_id, last_active_at DESC);

-- app_sessions are one client's grant inside a device session: its refresh
-- token families and, later, its back-channel logout target.
CREATE TABLE app_sessions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_session_id uuid NOT NULL REFERENCES device_sessions (id) ON DELETE CASCADE,
    account_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id         text NOT NULL,
    created_at        timestamptz NOT NULL,
    last_active_at    timestamptz NOT NULL,
    ended_at          timestamptz,
    end_reason        text
);
CREATE UNIQUE INDEX app_sessions_live ON app_sessions (device_session_id, client_id) WHERE ended_at IS NULL;
CREATE INDEX app_sessions_account ON app_sessions (account_id);

-- auth_requests are authorization requests from /authorize until their code
-- is exchanged. The row outlives the exchange so a replayed code is
-- recognised and the tokens it minted can be revoked.
CREATE TABLE auth_requests (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id         text NOT NULL,
    params            jsonb NOT NULL,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    account_id        uuid REFERENCES accounts (id) ON DELETE CASCADE,
    device_session_id uuid REFERENCES device_sessions (id) ON DELETE CASCADE,
    auth_time         timestamptz,
    amr               text[],
    acr               text,
    code_hash         bytea UNIQUE,
    code_expires_at   timestamptz,
    code_used_at      timestamptz
);
CREATE INDEX auth_requests_expiry ON auth_requests (expires_at);

-- refresh_tokens rotate on every use. family_id is the auth request whose code
-- started the chain; a rotated-out token presented again ends its app session.
CREATE TABLE refresh_tokens (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash     bytea NOT NULL UNIQUE,
    app_session_id uuid NOT NULL REFERENCES app_sessions (id) ON DELETE CASCADE,
    family_id      uuid NOT NULL,
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id      text NOT NULL,
    scopes         text[] NOT NULL,
    audience       text[] NOT NULL,
    amr            text[] NOT NULL,
    acr            text NOT NULL DEFAULT '',
    auth_time      timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    rotated_at     timestamptz,
    revoked_at     timestamptz
);
CREATE INDEX refresh_tokens_app_session ON refresh_tokens (app_session_id);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- access_tokens record every access token (JWT or opaque) so userinfo and
-- introspection can refuse one whose session has ended.
CREATE TABLE access_tokens (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    app_session_id uuid NOT NULL REFERENCES app_sessions (id) ON DELETE CASCADE,
    family_id      uuid NOT NULL,
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id      text NOT NULL,
    scopes         text[] NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz
);
CREATE INDEX access_tokens_app_session ON access_tokens (app_session_id);
CREATE INDEX access_tokens_family ON access_tokens (family_id);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

-- signing_keys are ES256 keys; the private half is sealed with the master key.
-- The newest key signs; retired keys stay published until tokens they signed
-- have expired.
CREATE TABLE signing_keys (
    id          text PRIMARY KEY,
    algorithm   text NOT NULL,
    private_key bytea NOT NULL,
    public_jwk  jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);

-- activity is the account's history: sign-ins, sign-outs, credential changes,
-- locks. The sessions and activity pages read it.
CREATE TABLE activity (
    id                bigserial PRIMARY KEY,
    account_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at                timestamptz NOT NULL,
    kind              text NOT NULL,
    device_session_id uuid,
    ip                inet,
    user_agent        text NOT NULL DEFAULT '',
    detail            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX activity_account ON activity (account_id, at DESC);

-- +goose Down
DROP TABLE activity;
DROP TABLE signing_keys;
DROP TABLE access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE auth_requests;
DROP TABLE app_sessions;
DROP TABLE device_sessions;
DROP TABLE signin_failures;
DROP TABLE passwords;
DROP TABLE accounts;
