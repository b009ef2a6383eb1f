import { readdirSync } from "node:fs";
import path from "node:path";
import { runner } from "node-pg-migrate";
import type pg from "pg";
import { migrationsDir } from "../paths.js";
import { withClient } from "./database.js";

const migrationsTable = "pgmigrations";

export interface MigrationOptions {
  /**
   * The role the app runs as (DATABASE_URL's), when migrations run as another role, the owner:
   * it is granted what the app needs and nothing more (migrations/0010_runtime_role.sql).
   */
  runtimeRole?: string;
  log?: (message: string) => void;
}

/**
 * Applies every pending migration in migrations/, then grants the runtime role its privileges
 * (again, so that a role created later or a new table is covered). Running it again changes nothing.
 */
export async function runMigrations(connectionString: string, options: MigrationOptions = {}) {
  // On a connection of our own, so that it has a connect time-out and a listener for a lost connection.
  const applied = await withClient(connectionString, (client) =>
    runner({
      dbClient: client,
      dir: migrationsDir,
      direction: "up",
      migrationsTable,
      checkOrder: true,
      log: options.log ?? (() => undefined),
    }),
  );
  if (options.runtimeRole) await withClient(connectionString, grantRuntimePrivileges(options.runtimeRole));
  return applied.map((migration) => migration.name);
}

/** The role a connection string logs in as, if it names one. */
function roleOf(connectionString: string): string | undefined {
  return decodeURIComponent(new URL(connectionString).username) || undefined;
}

/**
 * Runs the migrations as the owner (ownerUrl); when the app connects as another role (appUrl),
 * that role is granted what the app needs. Returns what was applied and the role granted, if any.
 */
export async function migrateAsOwner(ownerUrl: string, appUrl?: string) {
  if (!(await withClient(ownerUrl, canRunMigrations))) {
    throw new Error(
      `The role ${roleOf(ownerUrl) ?? "of this connection"} does not own the tables, so it cannot run the migrations: set DATABASE_MIGRATION_URL to the owner's connection.`,
    );
  }
  const appRole = appUrl ? roleOf(appUrl) : undefined;
  const runtimeRole = appRole !== roleOf(ownerUrl) ? appRole : undefined;
  return { applied: await runMigrations(ownerUrl, { runtimeRole }), runtimeRole };
}

/**
 * Gets the database ready for the app at start-up. With a migration URL (the owner's), migrations
 * run under it and the app's role gets its grants. Without one, DATABASE_URL migrates when its role
 * owns the schema (a single role, as with the embedded database); a role that owns nothing only
 * checks that no migration is pending, and refuses to start when one is.
 */
export async function prepareDatabase(databaseUrl: string, migrationUrl?: string): Promise<void> {
  if (migrationUrl) {
    await migrateAsOwner(migrationUrl, databaseUrl);
    return;
  }
  if (await withClient(databaseUrl, canRunMigrations)) {
    await runMigrations(databaseUrl);
    return;
  }
  const pending = await withClient(databaseUrl, findPendingMigrations);
  if (pending.length > 0) {
    throw new Error(
      `${pending.length} database migration(s) are pending (${pending.join(", ")}), and the role of DATABASE_URL may not apply them. ` +
        "Run `portal migrate` with DATABASE_MIGRATION_URL set to the owner's connection, or set it for the app.",
    );
  }
}

const grantRuntimePrivileges = (role: string) => async (client: pg.Client) => {
  await client.query("SELECT grant_runtime_privileges($1)", [role]);
};

/** Whether this connection's role owns the migrations table (or there is none yet: a new database). */
async function canRunMigrations(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ can: boolean }>(
    `SELECT to_regclass($1) IS NULL
       OR pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass($1)), 'USAGE') AS can`,
    [migrationsTable],
  );
  return rows[0]?.can === true;
}

async function findPendingMigrations(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${migrationsTable}`);
  const applied = new Set(rows.map((row) => row.name));
  return readdirSync(migrationsDir)
    .filter((file) => file.endsWith(".sql"))
    .map((file) => path.basename(file, ".sql"))
    .filter((name) => !applied.has(name))
    .sort();
}
