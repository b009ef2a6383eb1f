#!/bin/sh
# Run once by the postgres image when its data volume is new (docker-entrypoint-initdb.d): the
# portal's database with two roles. "portal" owns the tables and runs the migrations; "portal_app"
# is the role the app runs as, which owns nothing and gets its grants from `portal migrate`
# (migrations/0007_runtime_role.sql). On PostgreSQL 15+ the public schema belongs to the
# database's owner and no other role may create in it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$PORTAL_OWNER_PASSWORD" -v app_password="$PORTAL_APP_PASSWORD" <<'SQL'
CREATE ROLE portal LOGIN PASSWORD :'owner_password';
CREATE ROLE portal_app LOGIN PASSWORD :'app_password';
CREATE DATABASE portal OWNER portal;
REVOKE ALL ON DATABASE portal FROM PUBLIC;
GRANT CONNECT ON DATABASE portal TO portal_app;
SQL
