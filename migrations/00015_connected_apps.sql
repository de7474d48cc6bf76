-- +goose Up

-- The connected apps page says when a person first allowed an app and when
-- they last allowed it more. granted_at stays the time the current set of
-- scopes was last changed; first_granted_at is the first grant since the
-- consent was last removed, widened_at the last time scopes were added
-- (NULL: never). Existing consents take their first grant from the
-- account's history when it still has one.
ALTER TABLE consents
    ADD COLUMN first_granted_at timestamptz,
    ADD COLUMN widened_at       timestamptz;
UPDATE consents c SET first_granted_at = least(c.granted_at, coalesce((
    SELECT min(a.at) FROM activity a
    WHERE a.account_id = c.account_id AND a.kind = 'consent_granted' AND a.detail->>'client_id' = c.client_id), c.granted_at));
UPDATE consents SET widened_at = granted_at WHERE granted_at > first_granted_at;
ALTER TABLE consents ALTER COLUMN first_granted_at SET NOT NULL;

-- A writer that names only granted_at (the seed, an older replica during a
-- rolling upgrade) records a first grant at that time.
-- +goose StatementBegin
CREATE FUNCTION consents_first_granted_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.first_granted_at := coalesce(NEW.first_granted_at, NEW.granted_at);
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER consents_first_granted_at BEFORE INSERT ON consents
    FOR EACH ROW EXECUTE FUNCTION consents_first_granted_at();

-- +goose Down
DROP TRIGGER consents_first_granted_at ON consents;
DROP FUNCTION consents_first_granted_at();
ALTER TABLE consents DROP COLUMN widened_at, DROP COLUMN first_granted_at;
