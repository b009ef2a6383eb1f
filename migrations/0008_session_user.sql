-- Up Migration

-- The user a session belongs to, as a column of its own, generated from the JSON the session store
-- writes (the store needs no change). Counting and ending a user's sessions, and reading a session
-- together with its user, become index lookups instead of a scan of every session's JSON.
ALTER TABLE session ADD COLUMN user_id bigint GENERATED ALWAYS AS ((sess ->> 'userId')::bigint) STORED;
CREATE INDEX session_user_id ON session (user_id);

-- Down Migration

DROP INDEX session_user_id;
ALTER TABLE session DROP COLUMN user_id;
