-- Up Migration

CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role text NOT NULL CHECK (role IN ('patient', 'doctor', 'admin')),
  password_hash text NOT NULL,
  must_change_password boolean NOT NULL DEFAULT false,
  date_of_birth date,
  failed_login_count integer NOT NULL DEFAULT 0,
  login_blocked_until timestamptz,
  last_login_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);
-- Email addresses are unique whatever their case.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

CREATE TABLE doctor_patients (
  doctor_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  patient_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (doctor_id, patient_id)
);
CREATE INDEX doctor_patients_patient ON doctor_patients (patient_id);

-- The table connect-pg-simple expects.
CREATE TABLE session (
  sid varchar NOT NULL PRIMARY KEY,
  sess json NOT NULL,
  expire timestamp(6) NOT NULL
);
CREATE INDEX session_expire ON session (expire);

-- Security events. Append-only: the database itself refuses UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  event_type text NOT NULL,
  actor_user_id bigint,
  subject_user_id bigint,
  ip text,
  user_agent text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_subject ON audit_events (subject_user_id, occurred_at DESC);
CREATE INDEX audit_events_occurred ON audit_events (occurred_at DESC);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- Counters for rate-limiter-flexible (per client IP), in the shape it expects.
CREATE TABLE rate_limits (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);

-- Down Migration

DROP TABLE rate_limits;
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP TRIGGER audit_events_no_update_or_delete ON audit_events;
DROP TABLE audit_events;
DROP FUNCTION audit_events_refuse_change();
DROP TABLE session;
DROP TABLE doctor_patients;
DROP TABLE users;
