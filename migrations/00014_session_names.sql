-- +goose Up

-- What the sessions page says of a device session must stay true after it
-- changes:
--   signin_amr  how the session was created; amr and auth_time follow every
--               later confirmation (a step-up, a fresh sign-in on the same
--               browser), so they cannot say it. NULL on rows from before
--               this column, read as their amr, the best there is.
--   custom_name the name the person gave the device ("Work laptop"), or ''.
--               The page shows it above the name latch worked out, never
--               instead of it.
--   ended_by    the device session the person ended this one from, for
--               "Ended from Chrome on macOS"; NULL when it ended otherwise.
-- All three are added without a table rewrite.
ALTER TABLE device_sessions
    ADD COLUMN signin_amr  text[],
    ADD COLUMN custom_name text NOT NULL DEFAULT '',
    ADD COLUMN ended_by    uuid;

-- +goose Down
ALTER TABLE device_sessions DROP COLUMN signin_amr, DROP COLUMN custom_name, DROP COLUMN ended_by;
