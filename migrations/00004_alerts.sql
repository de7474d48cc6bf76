-- +goose Up

-- outbox holds account alerts until they are delivered (email over SMTP, or
-- files in development): written in the transaction of what they announce,
-- delivered by any replica with retries, kept a while for the record.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    account_id      uuid REFERENCES accounts (id) ON DELETE CASCADE,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- advanced_since records when an account turned advanced security on;
-- recovery_confirmed_set is the recovery key set the person proved they
-- saved (by typing one key back), a condition of turning it on.
ALTER TABLE accounts ADD COLUMN advanced_since timestamptz, ADD COLUMN recovery_confirmed_set uuid;

-- +goose Down
ALTER TABLE accounts DROP COLUMN advanced_since, DROP COLUMN recovery_confirmed_set;
DROP TABLE outbox;
