import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import { pino } from "pino";
import request from "supertest";
import { createApp } from "../../src/app.js";
import { createDatabase, type Database, DatabaseUnavailableError, databaseTimeouts } from "../../src/db/database.js";
import { createTestConfig, csrfFrom, logIn } from "../support/app.js";
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
  db = createDatabase({ connectionString: url.toString(), max: 1, sharedSession: database.sharedSession });
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

type Answer = { status: number; text: string; seconds: number };

/** Sends a request and waits for its answer, for at most `deadline` ms: a hang fails, bounded. */
async function timed(call: request.Test, deadline = 20_000): Promise<Answer> {
  const started = Date.now();
  const response = await call.timeout({ deadline });
  return { status: response.status, text: response.text, seconds: (Date.now() - started) / 1000 };
}

test("with the network silent: 503 pages within seconds, not ready, and recovery when it speaks again", async () => {
  const created = await services.users.createUser(
    { email: "silence@example.test", name: "Silence Test", role: "patient", password: "a quiet passphrase here" },
    { ip: undefined, userAgent: undefined },
  );
  assert.ok(created.ok);
  const { agent } = await logIn(app, "silence@example.test", "a quiet passphrase here");
  assert.equal((await agent.get("/patient")).status, 200);
  const visitor = request.agent(app);
  const loginPage = await visitor.get("/login");

  // Requests already waiting on the silent connection, and new ones behind them.
  proxy.silence();
  try {
    const answers = await Promise.all([
      timed(agent.get("/patient")),
      timed(request(app).get("/readyz")),
      timed(
        visitor
          .post("/login")
          .type("form")
          .send({ email: "silence@example.test", password: "a quiet passphrase here", _csrf: csrfFrom(loginPage.text) }),
      ),
      timed(agent.get("/account/security")),
    ]);
    // The longest wait is the client's time-out for an answer; the rest is margin for a busy machine.
    const bound = databaseTimeouts.queryMs / 1000 + 3;
    for (const answer of answers) {
      assert.equal(answer.status, 503, answer.text.slice(0, 200));
      assert.ok(answer.seconds < bound, `answered after ${answer.seconds} s`);
    }
    assert.match(answers[0]!.text, /cannot reach its database/);
    assert.match(answers[1]!.text, /"database":"unreachable"/);
  } finally {
    proxy.restore();
  }

  assert.equal((await timed(request(app).get("/readyz"))).status, 200, "ready again");
  assert.equal((await timed(agent.get("/patient"))).status, 200, "the session survived");
  const fresh = await logIn(app, "silence@example.test", "a quiet passphrase here");
  assert.equal(fresh.response.status, 303);
});

const needsServer = !process.env.DATABASE_URL && "PGlite ignores statement_timeout and would stay busy for the whole statement";

test("a statement that runs too long is cancelled by the server within seconds; its connection is kept", {
  skip: needsServer,
}, async () => {
  const before = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const started = Date.now();
  await assert.rejects(db.query("SELECT pg_sleep(20)"), DatabaseUnavailableError);
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds < databaseTimeouts.statementMs / 1000 + 2, `cancelled after ${seconds} s`);
  const after = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  assert.equal(after.rows[0]!.pid, before.rows[0]!.pid, "the same connection answers the next query");
});

describe("backends terminated under traffic", {
  skip: !process.env.DATABASE_URL && "PGlite has no other backends to terminate",
}, () => {
  // The app's own pool straight to the server, as in production; an admin connection of its own
  // terminates every other backend of the test database while logins and page views run.
  let direct: Database;
  let directApp: ReturnType<typeof createApp>["app"];
  let directServices: ReturnType<typeof createApp>["services"];
  let admin: pg.Client;
  before(async () => {
    direct = createDatabase({ connectionString: database.connectionString, max: 10 });
    ({ app: directApp, services: directServices } = createApp({
      config: createTestConfig({ TRUST_PROXY: "loopback" }),
      db: direct,
      clock: new FakeClock(),
      logger: pino({ level: "silent" }),
    }));
    admin = new pg.Client({ connectionString: database.connectionString });
    admin.on("error", () => undefined);
    await admin.connect();
  });
  after(async () => {
    await admin?.end().catch(() => undefined);
    await direct?.end().catch(() => undefined);
  });

  let userCount = 0;
  async function newPatient() {
    userCount += 1;
    const email = `killed${userCount}@example.test`;
    const password = `terminated backend ${userCount} pass`;
    const created = await directServices.users.createUser(
      { email, name: `Killed ${userCount}`, role: "patient", password },
      { ip: undefined, userAgent: undefined },
    );
    assert.ok(created.ok);
    return { email, password };
  }

  /** Each login from an address of its own, so that logins cut short do not add up to an IP block. */
  let addressCount = 0;
  const nextAddress = () => `198.51.100.${(addressCount++ % 250) + 1}`;

  async function startLogin() {
    const user = await newPatient();
    const agent = request.agent(directApp);
    const address = nextAddress();
    const page = await agent.get("/login").set("X-Forwarded-For", address);
    assert.equal(page.status, 200);
    return () =>
      agent
        .post("/login")
        .set("X-Forwarded-For", address)
        .type("form")
        .send({ email: user.email, password: user.password, _csrf: csrfFrom(page.text) });
  }

  /** Whether one of the app's connections is in the middle of a statement or a transaction. */
  async function isBusy(): Promise<boolean> {
    const { rows } = await admin.query(
      `SELECT 1 FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')`,
    );
    return rows.length > 0;
  }

  async function terminateBackends(): Promise<number[]> {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    return rows.map((row) => row.pid);
  }

  /** Waits (bounded) until the terminated backends are gone, so that the pool has heard of it. */
  async function waitForExit(pids: number[]) {
    for (let tries = 0; tries < 100 && pids.length > 0; tries += 1) {
      const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])", [pids]);
      if (rows.length === 0) break;
      await delay(20);
    }
    await delay(50);
  }

  test("the process lives, cut requests get the 503 page, the next ones succeed: 10 rounds", async () => {
    const viewers = [];
    for (let i = 0; i < 4; i += 1) {
      const user = await newPatient();
      const { agent, response } = await logIn(directApp, user.email, user.password);
      assert.equal(response.status, 303);
      viewers.push(agent);
    }

    let cut = 0;
    for (let round = 1; round <= 10; round += 1) {
      const logins = await Promise.all([startLogin(), startLogin(), startLogin()]);
      let running = true;
      const traffic: Promise<(Answer & { expected: number })[]> = Promise.all([
        ...logins.map((send) => timed(send()).then((answer) => ({ ...answer, expected: 303 }))),
        ...viewers.map((agent) => timed(agent.get("/patient")).then((answer) => ({ ...answer, expected: 200 }))),
        timed(request(directApp).get("/readyz")).then((answer) => ({ ...answer, expected: 200 })),
      ]).finally(() => {
        running = false;
      });
      // Up to three times a round, when a request is using its connection: terminate them all.
      const terminated = new Set<number>();
      for (let kills = 0, polls = 0; running && kills < 3 && polls < 500; polls += 1) {
        if (!(await isBusy())) continue;
        for (const pid of await terminateBackends()) terminated.add(pid);
        kills += 1;
        await delay(20);
      }
      const answers = await traffic;
      for (const answer of answers) {
        if (answer.status === 503) {
          cut += 1;
          assert.match(answer.text, /cannot reach its database|"database":"unreachable"/);
        } else {
          assert.equal(answer.status, answer.expected, `round ${round}: ${answer.text.slice(0, 200)}`);
        }
      }

      await waitForExit([...terminated]);
      for (const agent of viewers) assert.equal((await timed(agent.get("/patient"))).status, 200, `round ${round}: next view`);
      const next = await startLogin();
      assert.equal((await timed(next())).status, 303, `round ${round}: next login`);
      assert.equal((await timed(request(directApp).get("/readyz"))).status, 200, `round ${round}: ready`);
    }
    assert.ok(cut > 0, "some requests were cut short by the terminations");
  });
});
