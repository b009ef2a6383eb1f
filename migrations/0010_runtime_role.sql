-- Up Migration

-- The app runs as a role that owns nothing, so that neither a bug nor an injected statement in
-- its connection can ALTER a table, disable the audit triggers or set session_replication_role:
-- only the owner (who runs the migrations) can. `portal migrate`, run as the owner, calls this
-- function after every run with the role of DATABASE_URL, so the grants follow the schema. A
-- migration that adds a table replaces this function with the table added.
CREATE FUNCTION grant_runtime_privileges(runtime_role text) RETURNS void LANGUAGE plpgsql AS $$
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

-- Down Migration

DROP FUNCTION grant_runtime_privileges(text);
