-- +goose Up

-- agent_sessions are agents acting for a person (OAuth 2.0 Token Exchange,
-- RFC 8693): a first-party app exchanged the person's access token for a
-- delegated token of an agent client. An agent session IS an app session
-- (same id, app_session_id): the agent's tokens hang on that app session,
-- whose parent is the device session of the exchanged token, so every check
-- that keeps an app's tokens alive (the app and device session are live)
-- and every end (of the device session: one transaction, logout jobs,
-- NOTIFY) covers agents with no code of their own. This table holds what
-- only an agent has: who started it, what it may do, the note the
-- starting app gave, and until when its tokens may live.
CREATE TABLE agent_sessions (
    app_session_id    uuid PRIMARY KEY REFERENCES app_sessions (id) ON DELETE CASCADE,
    account_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_session_id uuid NOT NULL,
    agent_id          text NOT NULL,   -- the agent's client id
    started_by        text NOT NULL,   -- client id of the app whose exchange started or last renewed it
    scopes            text[] NOT NULL, -- everything granted to it so far
    note              text NOT NULL DEFAULT '', -- where it runs, as the starting app reported it
    started_at        timestamptz NOT NULL,
    renewed_at        timestamptz NOT NULL,
    -- expires_at is when its last token or refresh allowance ends: past it
    -- the agent can do nothing, is no longer listed, and the next exchange
    -- starts it afresh.
    expires_at        timestamptz NOT NULL
);
-- The panel and the JSON API list an account's agents.
CREATE INDEX agent_sessions_account ON agent_sessions (account_id, started_at DESC);

-- +goose Down
DROP TABLE agent_sessions;
