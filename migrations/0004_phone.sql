-- Up Migration

-- A verified mobile number: SMS and call at login.
CREATE TABLE phone_factors (
  user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  phone_e164 text NOT NULL,
  verified_at timestamptz NOT NULL
);

-- Every SMS code and call the portal sends. Also what the send limits count.
CREATE TABLE phone_challenges (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Unguessable, in the webhook URLs of this challenge; never a code.
  token text NOT NULL UNIQUE,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- The login this challenge belongs to; null for proving a new number.
  login_attempt_id text REFERENCES login_attempts (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('login', 'enrol')),
  channel text NOT NULL CHECK (channel IN ('sms', 'call')),
  phone_e164 text NOT NULL,
  -- SMS only: keyed hash of the code, bound to the login attempt (or enrolment).
  code_hash text,
  -- pending → used | replaced | expired (sms); pending → approved | denied | wrong-key | no-answer |
  -- busy | failed | hung-up | expired (call); failed also when the provider refused to send.
  status text NOT NULL DEFAULT 'pending',
  -- What the provider last said about delivery (sms: sent, delivered, undelivered, failed).
  delivery_status text,
  provider_id text,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX phone_challenges_user ON phone_challenges (user_id, created_at DESC);
CREATE INDEX phone_challenges_phone ON phone_challenges (phone_e164, created_at DESC);
CREATE INDEX phone_challenges_attempt ON phone_challenges (login_attempt_id);
CREATE INDEX phone_challenges_created ON phone_challenges (created_at DESC);

-- Down Migration

DROP TABLE phone_challenges;
DROP TABLE phone_factors;
