import { runner } from "node-pg-migrate";
import { migrationsDir } from "../paths.js";

/** Applies every pending migration in migrations/. Running it again is a no-op. */
export async function runMigrations(connectionString: string, log: (message: string) => void = () => undefined) {
  const applied = await runner({
    databaseUrl: connectionString,
    dir: migrationsDir,
    direction: "up",
    migrationsTable: "pgmigrations",
    checkOrder: true,
    log,
  });
  return applied.map((migration) => migration.name);
}
