import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { createDatabase } from "../../src/db/database.js";
import { prepareDatabase } from "../../src/db/migrate.js";
import { createTestDatabase, type TestDatabase, withOwnerDatabase } from "../support/database.js";

const run = promisify(execFile);
const portal = path.resolve("bin/portal.js");
let database: TestDatabase;

before(async () => {
  database = await createTestDatabase();
});
after(() => database.close());

function env(extra: Record<string, string> = {}) {
  // The embedded database under test cannot be shared with a second process; the CLI gets its own
  // data folder unless a real server is configured.
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    DATA_DIR: mkdtempSync(path.join(tmpdir(), "portal-cli-")),
    BCRYPT_COST: "10",
  };
  if (process.env.DATABASE_URL) {
    base.DATABASE_URL = database.connectionString;
    base.DATABASE_MIGRATION_URL = database.ownerConnectionString;
  }
  return { ...base, ...extra };
}

async function portalCommand(args: string[], extra: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [portal, ...args], { env: env(extra), timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test("bad arguments print the usage and exit non-zero", async () => {
  for (const args of [[], ["frobnicate"], ["user", "create", "--email", "a@b.test"], ["user", "create", "--bogus"]]) {
    const result = await portalCommand(args);
    assert.notEqual(result.code, 0, args.join(" "));
    assert.match(result.stdout + result.stderr, /Usage: portal <command>/);
  }
  const badRole = await portalCommand(["user", "create", "--email", "a@b.test", "--name", "A", "--role", "nurse"], {
    PORTAL_PASSWORD: "a fine long password",
  });
  assert.equal(badRole.code, 2);
  assert.match(badRole.stderr, /--role must be/);
});

test("user create takes the password from PORTAL_PASSWORD and refuses a weak one", async () => {
  const created = await portalCommand(
    ["user", "create", "--email", "New.Doctor@Example.test", "--name", "New Doctor", "--role", "doctor"],
    {
      PORTAL_PASSWORD: "a fine long password",
    },
  );
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /Created doctor new\.doctor@example\.test/);
  const weak = await portalCommand(["user", "create", "--email", "weak@example.test", "--name", "Weak", "--role", "patient"], {
    PORTAL_PASSWORD: "short",
  });
  assert.equal(weak.code, 1);
  assert.match(weak.stderr, /at least 12 characters/);
  const noPassword = await portalCommand(["user", "create", "--email", "x@example.test", "--name", "X", "--role", "patient"]);
  assert.notEqual(noPassword.code, 0);
  assert.match(noPassword.stderr, /PORTAL_PASSWORD/);
});

test("migrate reports what it did", async () => {
  const result = await portalCommand(["migrate"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Applied: 0001_foundation|No pending migrations/);
});

const onServer = { skip: process.env.DATABASE_URL ? false : "the embedded database has one role (see README)" };

test("migrate, run as the owner, gives the app's role what it needs and no more", onServer, async () => {
  const appRole = decodeURIComponent(new URL(database.connectionString).username);
  await withOwnerDatabase(database, (owner) => owner.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${appRole}`));
  const app = createDatabase({ connectionString: database.connectionString, max: 1 });
  try {
    await assert.rejects(app.query("SELECT count(*) FROM users"), /permission denied/, "a role with nothing granted");
    const result = await portalCommand(["migrate"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`The app's role ${appRole} may read and write what it needs`));
    await app.query("SELECT count(*) FROM users");
    await app.query("INSERT INTO audit_events (occurred_at, event_type) VALUES (now(), 'test.cli_grant')");
    await assert.rejects(app.query("UPDATE audit_events SET event_type = 'x'"), /permission denied/);
    await assert.rejects(app.query("ALTER TABLE users ADD COLUMN note text"), /must be owner/);
  } finally {
    await app.end();
  }
});

test("an app whose role owns nothing refuses to start while a migration is pending", onServer, async () => {
  const latest = "0010_runtime_role";
  await withOwnerDatabase(database, (owner) => owner.query("DELETE FROM pgmigrations WHERE name = $1", [latest]));
  try {
    await assert.rejects(
      prepareDatabase(database.connectionString),
      new RegExp(`1 database migration\\(s\\) are pending \\(${latest}\\)`),
    );
  } finally {
    await withOwnerDatabase(database, (owner) =>
      owner.query("INSERT INTO pgmigrations (name, run_on) VALUES ($1, now())", [latest]),
    );
  }
  await prepareDatabase(database.connectionString);
});
