// The measuring tools of `npm run bench` (no timings here): the baseline must serve the very page
// the portal serves, and the statement counter must count what a server sends to PostgreSQL.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import request from "supertest";
import { createBaselineApp, createBaselineSessionTable } from "../../bench/baseline-app.js";
import { classifyStatement, startStatementCounter } from "../../bench/statement-counter.js";
import { createDatabase, type Database } from "../../src/db/database.js";
import { ensureDemoAccounts } from "../../src/services/demo.js";
import { logIn, startTestApp, type TestApp } from "../support/app.js";

let portal: TestApp;
let baseline: ReturnType<typeof createBaselineApp>;
// The baseline is no part of the portal: it runs as the tables' owner, who may create its table.
let owner: Database;

before(async () => {
  portal = await startTestApp();
  await ensureDemoAccounts(portal.services);
  const { ownerConnectionString, connectionString } = portal.database;
  owner =
    ownerConnectionString === connectionString
      ? portal.database.db
      : createDatabase({ connectionString: ownerConnectionString, max: 2 });
  await createBaselineSessionTable(owner.pool);
  baseline = createBaselineApp(owner.pool, "a baseline session secret that is long enough");
});
after(async () => {
  if (owner !== portal.database.db) await owner.end();
  await portal.close();
});

/** The page without what differs from one session to the next. */
function withoutTokens(html: string): string {
  return html.replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""');
}

async function signedInPortal() {
  const { agent, response } = await logIn(portal.app, "patient@demo.test", "tulip harbour 2031");
  assert.equal(response.status, 303);
  return agent;
}

async function signedInBaseline() {
  const agent = request.agent(baseline);
  assert.equal((await agent.get("/sign-in")).status, 200);
  return agent;
}

test("the baseline serves the demo patient's home page exactly as the portal does", async () => {
  const fromPortal = await (await signedInPortal()).get("/patient");
  const fromBaseline = await (await signedInBaseline()).get("/patient");
  assert.equal(fromPortal.status, 200);
  assert.equal(fromBaseline.status, 200);
  assert.match(fromBaseline.text, /Welcome, Pat Jansen/);
  assert.equal(withoutTokens(fromBaseline.text), withoutTokens(fromPortal.text));
});

test("the baseline's security page has the portal's sections, forms and links", async () => {
  const fromPortal = await (await signedInPortal()).get("/account/security");
  const fromBaseline = await (await signedInBaseline()).get("/account/security");
  assert.equal(fromPortal.status, 200);
  assert.equal(fromBaseline.status, 200);
  // The events and the number of other sessions differ with the account's history; the page's
  // structure must not.
  const skeleton = (html: string) => html.match(/<h[12]>[^<]*<\/h[12]>|action="[^"]*"|href="[^"]*"/g) ?? [];
  assert.ok(skeleton(fromPortal.text).length > 10);
  assert.deepEqual(skeleton(fromBaseline.text), skeleton(fromPortal.text));
});

test("the baseline sends a visitor without a session to the login page", async () => {
  const response = await request(baseline).get("/patient");
  assert.equal(response.status, 302);
  assert.equal(response.headers.location, "/login");
});

test("the statement counter counts simple and extended queries, writes and transactions", async () => {
  const target = new URL(portal.database.connectionString);
  const counter = await startStatementCounter({ host: target.hostname, port: Number(target.port || 5432) });
  const proxied = new URL(portal.database.connectionString);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(counter.port);
  const client = new pg.Client({ connectionString: proxied.toString() });
  try {
    await client.connect();
    await client.query("SELECT 1");
    await client.query("SELECT $1::int AS n", [2]);
    await client.query("BEGIN");
    const updated = await client.query("UPDATE users SET name = name WHERE email = $1", ["patient@demo.test"]);
    await client.query("COMMIT");
    assert.equal(updated.rowCount, 1);
    const counts = counter.take();
    assert.deepEqual(
      { total: counts.total, read: counts.read, write: counts.write, transaction: counts.transaction },
      { total: 5, read: 2, write: 1, transaction: 2 },
    );
    assert.equal(counts.texts.get("UPDATE users SET name = name WHERE email = $1"), 1);
    // take() starts afresh.
    await client.query("SELECT 1");
    assert.equal(counter.take().total, 1);
  } finally {
    await client.end();
    await counter.close();
  }
});

test("a statement is a write when it changes rows, also inside WITH", () => {
  assert.equal(classifyStatement("  select * from users"), "read");
  assert.equal(classifyStatement("SELECT id FROM users FOR UPDATE"), "read");
  assert.equal(classifyStatement("INSERT INTO session (sid) VALUES ($1) ON CONFLICT (sid) DO UPDATE SET sess = $2"), "write");
  assert.equal(
    classifyStatement("WITH gone AS (DELETE FROM session WHERE expire < now() RETURNING sid) SELECT count(*) FROM gone"),
    "write",
  );
  assert.equal(classifyStatement("with recent as (select 1) select * from recent"), "read");
  assert.equal(classifyStatement("COMMIT"), "transaction");
});
