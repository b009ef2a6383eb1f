import { randomBytes } from "node:crypto";
import { createDatabase, type Database, withClient } from "../../src/db/database.js";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";
import { runMigrations } from "../../src/db/migrate.js";

export interface TestDatabase {
  db: Database;
  connectionString: string;
  /** The embedded database: every connection shares one session (see DatabaseOptions). */
  sharedSession: boolean;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: a new database on the server named by
 * DATABASE_URL when it is set (dropped afterwards), otherwise an in-memory embedded Postgres.
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
      close: async () => {
        await db.end();
        await embedded.stop();
      },
    };
  }

  const name = `portal_test_${randomBytes(6).toString("hex")}`;
  await withClient(serverUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const connectionString = url.toString();
  await runMigrations(connectionString);
  const db = createDatabase({ connectionString, max: 5 });
  return {
    db,
    connectionString,
    sharedSession: false,
    close: async () => {
      await db.end();
      await withClient(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
