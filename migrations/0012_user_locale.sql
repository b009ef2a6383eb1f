-- Up Migration

-- The language the user chose for the portal's pages, SMS and phone calls. NULL: none chosen yet;
-- the first login saves the language the pages were shown in, the language switch changes it.
-- The runtime role may already update users (migrations/0010_runtime_role.sql): no grant needed.
ALTER TABLE users ADD COLUMN locale text NULL CHECK (locale IN ('en', 'nl'));

-- Down Migration

ALTER TABLE users DROP COLUMN locale;
