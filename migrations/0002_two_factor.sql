-- Up Migration

-- One row per login that passed the password step and now needs a second factor. The session
-- holds only its id; counters live here so parallel requests cannot race them.
CREATE TABLE login_attempts (
  id text PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'passed', 'voided', 'denied')),
  failed_codes integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX login_attempts_user ON login_attempts (user_id, created_at DESC);

-- Consecutive wrong second-factor codes across attempts, and the lock they lead to.
ALTER TABLE users
  ADD COLUMN second_factor_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN second_factor_locked_until timestamptz;

-- An enrolled authenticator app. The secret is AES-256-GCM ciphertext (key id inside the box).
CREATE TABLE totp_factors (
  user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_box text NOT NULL,
  -- The last accepted RFC 6238 time step: a code at or before it is a replay.
  last_used_step bigint NOT NULL,
  enrolled_at timestamptz NOT NULL
);

-- An app enrolment waiting for its first code; replaced by a new QR code, gone after 15 minutes.
CREATE TABLE totp_enrolments (
  user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_box text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Single-use recovery codes, stored as keyed hashes only.
CREATE TABLE recovery_codes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  created_at timestamptz NOT NULL,
  used_at timestamptz,
  UNIQUE (user_id, code_hash)
);

-- Down Migration

DROP TABLE recovery_codes;
DROP TABLE totp_enrolments;
DROP TABLE totp_factors;
ALTER TABLE users DROP COLUMN second_factor_locked_until, DROP COLUMN second_factor_failures;
DROP TABLE login_attempts;
