import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pino } from "pino";
import request from "supertest";
import { createApp } from "../../src/app.js";
import { createDatabase, type Database } from "../../src/db/database.js";
import { createTestConfig, csrfFrom } from "../support/app.js";
import { FakeClock } from "../support/clock.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

// The app reaches its database through a proxy this test can cut, as if PostgreSQL went down.

let database: TestDatabase;
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let db: Database;
let app: ReturnType<typeof createApp>["app"];
let services: ReturnType<typeof createApp>["services"];

before(async () => {
  database = await createTestDatabase();
  const url = new URL(database.connectionString);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  db = createDatabase({ connectionString: url.toString(), max: 1 });
  ({ app, services } = createApp({ config: createTestConfig(), db, clock: new FakeClock(), logger: pino({ level: "silent" }) }));
});
after(async () => {
  await db.end().catch(() => undefined);
  await proxy.close();
  await database.close();
});

test("with the database down: 503 pages, no half-finished login, and recovery when it returns", async () => {
  const created = await services.users.createUser(
    { email: "fault@example.test", name: "Fault Test", role: "patient", password: "a perfectly fine passphrase" },
    { ip: undefined, userAgent: undefined },
  );
  assert.ok(created.ok);
  const agent = request.agent(app);
  const page = await agent.get("/login");
  assert.equal(page.status, 200);

  proxy.cut();
  const ready = await request(app).get("/readyz");
  assert.equal(ready.status, 503);
  assert.equal(ready.body.database, "unreachable");
  assert.equal((await request(app).get("/healthz")).status, 200, "the process itself is alive");
  const login = await agent
    .post("/login")
    .type("form")
    .send({ email: "fault@example.test", password: "a perfectly fine passphrase", _csrf: csrfFrom(page.text) });
  assert.equal(login.status, 503);
  assert.match(login.text, /cannot reach its database/);
  assert.doesNotMatch(login.text, /at .*\.ts:\d+/, "no stack trace");
  assert.equal((await agent.get("/login")).status, 200, "the login page needs no database to be shown");

  proxy.restore();
  assert.equal((await request(app).get("/readyz")).status, 200, "recovers by itself");
  const again = request.agent(app);
  const fresh = await again.get("/login");
  const done = await again
    .post("/login")
    .type("form")
    .send({ email: "fault@example.test", password: "a perfectly fine passphrase", _csrf: csrfFrom(fresh.text) });
  assert.equal(done.status, 303);
  assert.equal((await again.get("/patient")).status, 200);
});
