-- Up Migration

-- Raised whenever all (or all other) sessions of the user are ended. A session remembers the value
-- it was issued under; a different value means revoked. Deleting session rows is not enough on its
-- own: a request in flight would write its session back when it ends.
ALTER TABLE users ADD COLUMN session_generation integer NOT NULL DEFAULT 0;

-- Down Migration

ALTER TABLE users DROP COLUMN session_generation;
