import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

let database: TestDatabase | undefined;
before(async () => {
  if (process.env.DATABASE_URL) database = await createTestDatabase();
});
after(() => database?.close());

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  baseUrl: string;
}

async function startServer(dataDir: string): Promise<Started> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    PORT: String(port),
    DATA_DIR: dataDir,
    BCRYPT_COST: "10",
    NODE_ENV: "development",
  };
  if (database) env.DATABASE_URL = database.connectionString;
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 60_000;
  while (!output.includes("listening on")) {
    if (child.exitCode !== null) throw new Error(`the server exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the server did not start within 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output, baseUrl: `http://127.0.0.1:${port}` };
}

function stopServer(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

test("npm start serves the portal, prints the demo accounts and stops cleanly on SIGTERM", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "portal-start-"));
  const server = await startServer(dataDir);
  assert.match(server.output(), /patient@demo\.test/);
  assert.match(server.output(), /doctor@demo\.test/);
  assert.match(server.output(), /admin@demo\.test/);
  const ready = await fetch(`${server.baseUrl}/readyz`);
  assert.equal(ready.status, 200);
  const login = await fetch(`${server.baseUrl}/login`);
  assert.equal(login.status, 200);
  assert.match(await login.text(), /<label for="email">Email address<\/label>/);
  assert.equal(await stopServer(server.child), 0);
  assert.match(server.output(), /stopped/);

  // A second start reuses the data folder: the same generated secrets, the accounts still there.
  const secrets = readFileSync(path.join(dataDir, "secrets.json"), "utf8");
  const again = await startServer(dataDir);
  assert.equal(readFileSync(path.join(dataDir, "secrets.json"), "utf8"), secrets);
  assert.equal((await fetch(`${again.baseUrl}/readyz`)).status, 200);
  assert.equal(await stopServer(again.child), 0);
});
