import { randomBytes } from "node:crypto";
import { createDatabase, type Database, withClient } from "../../src/db/database.js";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";
import { migrateAsOwner, runMigrations } from "../../src/db/migrate.js";

export interface TestDatabase {
  /** The app's connection: on a PostgreSQL server a role of its own that owns nothing. */
  db: Database;
  connectionString: string;
  /** The embedded database: every connection shares one session (see DatabaseOptions). */
  sharedSession: boolean;
  /** The tables' owner, who runs the migrations; the same as connectionString on the embedded database. */
  ownerConnectionString: string;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: a new database on the server named by
 * DATABASE_URL when it is set (dropped afterwards), otherwise an in-memory embedded Postgres.
 *
 * On the server, DATABASE_URL's role owns the database and runs the migrations, and the app
 * connects as a new role made for this database only (as in production: see README), dropped
 * with it. Roles belong to the whole cluster, so its name carries the database's.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const embedded = await startEmbeddedPostgres("memory://");
    await runMigrations(embedded.connectionString);
    const db = createDatabase({
      connectionString: embedded.connectionString,
      max: embedded.maxConnections,
      sharedSession: embedded.sharedSession,
    });
    return {
      db,
      connectionString: embedded.connectionString,
      sharedSession: true,
      ownerConnectionString: embedded.connectionString,
      close: async () => {
        await db.end();
        await embedded.stop();
      },
    };
  }

  const name = `portal_test_${randomBytes(6).toString("hex")}`;
  const appRole = `${name}_app`;
  const appPassword = randomBytes(18).toString("hex");
  await withClient(serverUrl, async (admin) => {
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.query(`CREATE ROLE ${appRole} LOGIN PASSWORD '${appPassword}'`);
  });
  const ownerUrl = new URL(serverUrl);
  ownerUrl.pathname = `/${name}`;
  const appUrl = new URL(ownerUrl);
  appUrl.username = appRole;
  appUrl.password = appPassword;
  const connectionString = appUrl.toString();
  await migrateAsOwner(ownerUrl.toString(), connectionString);
  const db = createDatabase({ connectionString, max: 5 });
  return {
    db,
    connectionString,
    sharedSession: false,
    ownerConnectionString: ownerUrl.toString(),
    close: async () => {
      await db.end();
      await withClient(serverUrl, async (admin) => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.query(`DROP ROLE IF EXISTS ${appRole}`);
      });
    },
  };
}

/** Runs fn with a connection as the tables' owner (short-lived; the app's own on the embedded database). */
export async function withOwnerDatabase<T>(database: TestDatabase, fn: (owner: Database) => Promise<T>): Promise<T> {
  if (database.ownerConnectionString === database.connectionString) return fn(database.db);
  const owner = createDatabase({ connectionString: database.ownerConnectionString, max: 1 });
  try {
    return await fn(owner);
  } finally {
    await owner.end();
  }
}
