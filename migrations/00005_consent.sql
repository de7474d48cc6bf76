-- +goose Up

-- consents remember what a person allowed an app that is not one of
-- latch's own (first_party: false); first-party apps need none.
CREATE TABLE consents (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  text NOT NULL,
    scopes     text[] NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- +goose Down
DROP TABLE consents;
