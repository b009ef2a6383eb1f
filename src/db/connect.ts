import path from "node:path";
import type { Config } from "../config.js";
import { createDatabase, type Database } from "./database.js";
import { startEmbeddedPostgres } from "./embedded.js";
import { prepareDatabase, runMigrations } from "./migrate.js";

export interface Connection {
  db: Database;
  connectionString: string;
  isEmbedded: boolean;
  close(): Promise<void>;
}

/**
 * Connects to DATABASE_URL, or outside production starts the embedded database under
 * DATA_DIR/pglite; then applies pending migrations (as the owner, see prepareDatabase).
 */
export async function connectDatabase(config: Config, onError: (error: Error) => void = () => undefined): Promise<Connection> {
  if (config.databaseUrl) {
    await prepareDatabase(config.databaseUrl, config.databaseMigrationUrl);
    const db = createDatabase({ connectionString: config.databaseUrl, max: 10, onError });
    return { db, connectionString: config.databaseUrl, isEmbedded: false, close: () => db.end() };
  }
  if (config.isProduction) throw new Error("DATABASE_URL is required in production.");
  const embedded = await startEmbeddedPostgres(path.join(config.dataDir, "pglite"));
  try {
    await runMigrations(embedded.connectionString);
  } catch (error) {
    await embedded.stop();
    throw error;
  }
  const db = createDatabase({
    connectionString: embedded.connectionString,
    max: embedded.maxConnections,
    sharedSession: embedded.sharedSession,
    onError,
  });
  return {
    db,
    connectionString: embedded.connectionString,
    isEmbedded: true,
    close: async () => {
      await db.end();
      await embedded.stop();
    },
  };
}
