-- Up Migration

-- An address blocked after too many failed logins. Refused logins during the block are counted in
-- its row (no audit row each); the audit log gets one event when the block starts and one with the
-- count when it has ended and the row is removed.
CREATE TABLE login_ip_blocks (
  ip text PRIMARY KEY,
  started_at timestamptz NOT NULL,
  blocked_until timestamptz NOT NULL,
  refused integer NOT NULL DEFAULT 0
);
CREATE INDEX login_ip_blocks_until ON login_ip_blocks (blocked_until);

-- Down Migration

DROP TABLE login_ip_blocks;
