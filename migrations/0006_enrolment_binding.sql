-- Up Migration

-- A pending app enrolment belongs to the session that started it: another session of the same
-- user (someone else who knows the password) never sees its secret, and cannot confirm it.
ALTER TABLE totp_enrolments ADD COLUMN session_binding text NOT NULL DEFAULT '';

-- Down Migration

ALTER TABLE totp_enrolments DROP COLUMN session_binding;
