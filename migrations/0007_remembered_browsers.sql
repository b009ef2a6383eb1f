-- Up Migration

-- "Don't ask again on this browser": a browser that passed the second step for a user may skip it
-- at that user's next logins (the password is still asked) until it expires or is forgotten.
-- The browser's cookie holds the row id and a 256-bit random token; only a keyed hash (HMAC-SHA256)
-- of the token is kept here. A forgotten browser's row is deleted: the audit log keeps its history.
CREATE TABLE remembered_browsers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash text NOT NULL CHECK (length(token_hash) = 64),
  -- Readable, from the User-Agent when it was remembered: "Chrome on Windows".
  description text NOT NULL CHECK (length(description) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL,
  last_used_at timestamptz,
  expires_at timestamptz NOT NULL
);
CREATE INDEX remembered_browsers_user ON remembered_browsers (user_id);
CREATE INDEX remembered_browsers_expires ON remembered_browsers (expires_at);

-- Down Migration

DROP TABLE remembered_browsers;
