-- +goose Up

-- throttle_budgets give a browser that proved itself for an account (its
-- device cookie is one of the account's known_devices, or its trusted-device
-- cookie is still trusted) its own count of failed guesses per throttle key,
-- so that an attacker's guesses from elsewhere, counted in signin_failures,
-- never slow the owner's own devices down. email_key is the throttle key, as
-- in signin_failures; device_hash the SHA-256 of the cookie that proved the
-- browser. The primary key is the throttle's lookup, and unlock deletes by
-- its prefix.
CREATE TABLE throttle_budgets (
    email_key      text NOT NULL,
    device_hash    bytea NOT NULL,
    failures       integer NOT NULL DEFAULT 0,
    last_failed_at timestamptz NOT NULL,
    PRIMARY KEY (email_key, device_hash)
);
-- The throttle's sweep forgets budgets without a failure for a day.
CREATE INDEX throttle_budgets_last ON throttle_budgets (last_failed_at);

-- engaged_at is when the shared budget of a key began to slow guesses down
-- and the owner was told; the alert is sent once until the count is cleared.
ALTER TABLE signin_failures ADD COLUMN engaged_at timestamptz;

-- Guesses that did not get past a password no longer lock an account: they
-- only slow down. Lift the locks they made; second-factor locks ("2fa:")
-- and typed-back recovery key locks ("confirm:") stay.
UPDATE signin_failures SET locked_at = NULL
    WHERE locked_at IS NOT NULL AND email_key NOT LIKE '2fa:%' AND email_key NOT LIKE 'confirm:%';

-- +goose Down
ALTER TABLE signin_failures DROP COLUMN engaged_at;
DROP TABLE throttle_budgets;
