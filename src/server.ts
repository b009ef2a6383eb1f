import type { Server } from "node:http";
import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { connectDatabase } from "./db/connect.js";
import { createLogger } from "./logger.js";
import { systemClock } from "./services/clock.js";
import { describeClockSkew, measureClockSkewSeconds } from "./services/clock-skew.js";
import { describeDemoAccounts, ensureDemoAccounts } from "./services/demo.js";
import { pruneIntervalMs } from "./services/retention.js";

// Start-up: config → database → app → listen → graceful shutdown.
async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config);
  const startedAt = Date.now();

  const connection = await connectDatabase(config, (error) => logger.warn({ err: error }, "database connection lost"));
  if (connection.isEmbedded)
    logger.info(`Embedded database in ${config.dataDir}/pglite (set DATABASE_URL to use a PostgreSQL server)`);
  const { app, services } = createApp({ config, db: connection.db, clock: systemClock, logger });
  const skew = describeClockSkew(await measureClockSkewSeconds(connection.db, systemClock));
  if (skew) logger.warn(skew);

  if (!config.isProduction) {
    const accounts = await ensureDemoAccounts(services);
    console.log(describeDemoAccounts(accounts));
  }

  // Expired sessions, old login attempts and challenges are removed now and every 15 minutes.
  const prune = () =>
    services.retention
      .pruneExpiredRecords()
      .then((counts) => logger.debug({ counts }, "pruned expired records"))
      .catch((error) => logger.warn({ err: error }, "could not prune expired records"));
  void prune();
  const pruning = setInterval(prune, pruneIntervalMs);
  pruning.unref();

  const server: Server = app.listen(config.port, () => {
    logger.info(`${config.portalName} listening on http://localhost:${config.port} (ready in ${Date.now() - startedAt} ms)`);
  });
  server.on("error", async (error) => {
    logger.fatal({ err: error }, "could not start the HTTP server");
    await connection.close().catch(() => undefined);
    process.exit(1);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(pruning);
    logger.info(`${signal} received: finishing requests in flight`);
    // Stop accepting, let requests in flight finish, then close the pool.
    const force = setTimeout(() => {
      logger.warn("requests still open after 10 s; closing anyway");
      server.closeAllConnections();
    }, 10_000);
    force.unref();
    server.close(async () => {
      await connection.close().catch((error) => logger.error({ err: error }, "error while closing the database"));
      logger.info("stopped");
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
