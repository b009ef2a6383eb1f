-- Up Migration

-- Passkeys (WebAuthn) as a second factor: a user may have several, one row per credential. The
-- public key is the COSE key the authenticator gave at registration; `counter` is its signature
-- counter, which must grow with every use when the authenticator keeps one (0 when it does not),
-- so that a cloned authenticator or a replayed assertion is refused. A removed passkey's row is
-- deleted: the audit log keeps its history.
CREATE TABLE passkey_credentials (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- base64url, as the browser names it; at most 1023 bytes raw (WebAuthn), so 1364 characters.
  credential_id text NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1364 AND credential_id ~ '^[A-Za-z0-9_-]+$'),
  public_key bytea NOT NULL CHECK (octet_length(public_key) BETWEEN 1 AND 2048),
  counter bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  transports text[] NOT NULL DEFAULT '{}',
  -- The user's name for it: "Work laptop".
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
  created_at timestamptz NOT NULL,
  last_used_at timestamptz
);
CREATE INDEX passkey_credentials_user ON passkey_credentials (user_id);

-- The app's role may read, add, update (counter, last use) and delete passkeys: the function of
-- 0010_runtime_role.sql with the new table added.
CREATE OR REPLACE FUNCTION grant_runtime_privileges(runtime_role text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF runtime_role = current_user THEN
    RAISE EXCEPTION 'The app''s role % is the owner running the migrations: give the app a role of its own', runtime_role;
  END IF;
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = runtime_role) THEN
    RAISE EXCEPTION 'The app''s role % is a superuser, which no grant can restrict', runtime_role;
  END IF;
  IF pg_has_role(runtime_role::name, current_user, 'MEMBER') THEN
    RAISE EXCEPTION 'The app''s role % is a member of the owner %, so it could alter the tables', runtime_role, current_user;
  END IF;
  EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', runtime_role);
  EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', runtime_role);
  -- The audit log: written and read, never changed.
  EXECUTE format('GRANT SELECT, INSERT ON audit_events TO %I', runtime_role);
  -- Rows that change and are never deleted by the app.
  EXECUTE format('GRANT SELECT, INSERT, UPDATE ON users TO %I', runtime_role);
  EXECUTE format('GRANT SELECT, INSERT, DELETE ON doctor_patients TO %I', runtime_role);
  -- Attempts, challenges and messages end by status; the retention job (src/services/retention.ts)
  -- removes old ones, expired sessions, remembered browsers and ended address blocks.
  EXECUTE format(
    'GRANT SELECT, INSERT, UPDATE, DELETE ON session, rate_limits, totp_factors, totp_enrolments, recovery_codes, phone_factors, passkey_credentials, remembered_browsers, login_ip_blocks, login_attempts, phone_challenges, phone_outbox TO %I',
    runtime_role
  );
  -- At start-up the app checks that no migration is pending.
  EXECUTE format('GRANT SELECT ON pgmigrations TO %I', runtime_role);
END;
$$;
REVOKE ALL ON FUNCTION grant_runtime_privileges(text) FROM PUBLIC;

-- Down Migration

-- The function as 0010_runtime_role.sql made it.
CREATE OR REPLACE FUNCTION grant_runtime_privileges(runtime_role text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF runtime_role = current_user THEN
    RAISE EXCEPTION 'The app''s role % is the owner running the migrations: give the app a role of its own', runtime_role;
  END IF;
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = runtime_role) THEN
    RAISE EXCEPTION 'The app''s role % is a superuser, which no grant can restrict', runtime_role;
  END IF;
  IF pg_has_role(runtime_role::name, current_user, 'MEMBER') THEN
    RAISE EXCEPTION 'The app''s role % is a member of the owner %, so it could alter the tables', runtime_role, current_user;
  END IF;
  EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', runtime_role);
  EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', runtime_role);
  -- The audit log: written and read, never changed.
  EXECUTE format('GRANT SELECT, INSERT ON audit_events TO %I', runtime_role);
  -- Rows that change and are never deleted by the app.
  EXECUTE format('GRANT SELECT, INSERT, UPDATE ON users TO %I', runtime_role);
  EXECUTE format('GRANT SELECT, INSERT, DELETE ON doctor_patients TO %I', runtime_role);
  -- Attempts, challenges and messages end by status; the retention job (src/services/retention.ts)
  -- removes old ones, expired sessions, remembered browsers and ended address blocks.
  EXECUTE format(
    'GRANT SELECT, INSERT, UPDATE, DELETE ON session, rate_limits, totp_factors, totp_enrolments, recovery_codes, phone_factors, remembered_browsers, login_ip_blocks, login_attempts, phone_challenges, phone_outbox TO %I',
    runtime_role
  );
  -- At start-up the app checks that no migration is pending.
  EXECUTE format('GRANT SELECT ON pgmigrations TO %I', runtime_role);
END;
$$;
REVOKE ALL ON FUNCTION grant_runtime_privileges(text) FROM PUBLIC;

DROP TABLE passkey_credentials;
