import { runner } from "node-pg-migrate";
import { migrationsDir } from "../paths.js";
import { withClient } from "./database.js";

/** Applies every pending migration in migrations/. Running it again is a no-op. */
export async function runMigrations(connectionString: string, log: (message: string) => void = () => undefined) {
  // On a connection of our own, so that it has a connect time-out and a listener for a lost connection.
  return withClient(connectionString, async (client) => {
    const applied = await runner({
      dbClient: client,
      dir: migrationsDir,
      direction: "up",
      migrationsTable: "pgmigrations",
      checkOrder: true,
      log,
    });
    return applied.map((migration) => migration.name);
  });
}
