-- +goose Up

-- suspended_at is when a passkey showed a signature counter at or below the
-- one latch had stored (WebAuthn §6.1.1: a sign that its private key exists
-- twice). From then on it signs nothing in, whatever counter it reports,
-- until its owner confirms it with another method or removes it. Without
-- this, a copy that keeps counting up would overtake the stored counter and
-- be let in after a few refused tries.
ALTER TABLE passkeys ADD COLUMN suspended_at timestamptz;

-- +goose Down
ALTER TABLE passkeys DROP COLUMN suspended_at;
