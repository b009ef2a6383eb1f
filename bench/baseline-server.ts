// Runs the baseline (bench/baseline-app.ts) as its own process, as the bench runs the portal:
// PORT, SESSION_SECRET and DATABASE_URL from the environment; without DATABASE_URL it keeps its
// sessions in an embedded PGlite, as the portal does. Listens on loopback only; stops on SIGTERM.
import pg from "pg";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { createBaselineApp, createBaselineSessionTable } from "./baseline-app.js";

async function main() {
  const port = Number(process.env.PORT ?? 0);
  const sessionSecret = process.env.SESSION_SECRET ?? "baseline-session-secret-that-is-long-enough";
  const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres("memory://");
  const pool = new pg.Pool({
    connectionString: process.env.DATABASE_URL ?? embedded?.connectionString,
    // The portal's pool sizes: 10 on a PostgreSQL server, 1 on PGlite.
    max: embedded ? 1 : 10,
  });
  await createBaselineSessionTable(pool);
  const server = createBaselineApp(pool, sessionSecret).listen(port, "127.0.0.1");
  const stop = () => {
    server.close(async () => {
      await pool.end().catch(() => undefined);
      await embedded?.stop();
      process.exit(0);
    });
    server.closeAllConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
