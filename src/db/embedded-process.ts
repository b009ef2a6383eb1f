// Runs PGlite behind a Postgres wire-protocol socket in its own process, so the database's work
// never blocks the HTTP server's event loop. Started by embedded.ts with fork(); talks over IPC.
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const dataDir = process.argv[2] ?? "memory://";

async function main() {
  const db = await PGlite.create(dataDir);
  // PGlite is a single-connection database. The app's pool holds one connection; the server
  // accepts one more so that a replacement can connect while a dropped one is still closing.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 2 });
  await server.start();
  const address = server.getServerConn();
  process.send?.({ type: "ready", address });

  const stop = async () => {
    await server.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    process.exit(0);
  };
  process.on("message", (message: { type?: string }) => {
    if (message?.type === "stop") void stop();
  });
  // The parent going away (crash, kill -9) must not leave an orphan holding the data directory.
  process.on("disconnect", () => void stop());
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => void stop());
}

main().catch((error) => {
  process.send?.({ type: "error", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
