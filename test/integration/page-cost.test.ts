import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import request from "supertest";
import { maskPhoneNumber } from "../../src/services/phone-numbers.js";
import { startTestApp, type TestApp, type TestUser } from "../support/app.js";
import type { TestDatabase } from "../support/database.js";
import { type StatementLog, startLoggedTestApp } from "../support/statement-log.js";

// What one signed-in page view costs the database, counted statement by statement: every query
// the app sends passes through a logging wrapper of the Database it was given.

let log: StatementLog;
let t: TestApp;
let database: TestDatabase;

before(async () => {
  ({ t, log, database } = await startLoggedTestApp());
});
after(() => database.close());

const writes = /^\s*(INSERT|UPDATE|DELETE)\b/i;

/** The statements one view of the page sends (after a first view, as a user clicking around would). */
async function statementsOf(agent: request.Agent, path: string, context: { diagnostic(message: string): void }) {
  assert.equal((await agent.get(path)).status, 200, `${path} opens`);
  log.clear();
  const page = await agent.get(path);
  assert.equal(page.status, 200, `${path} opens again`);
  const sent = [...log.statements];
  context.diagnostic(`${path}: ${sent.length} statements`);
  return { page, sent, reads: sent.filter((statement) => !writes.test(statement.sql)) };
}

async function addPhone(user: TestUser) {
  await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, '+31612345678', $2)", [
    user.id,
    t.clock.now(),
  ]);
}

describe("a signed-in page costs the session read and one more statement, and writes nothing", () => {
  test("/patient without a second factor (the invitation to set one up is shown)", async (context) => {
    const patient = await t.createUser("patient");
    const { agent } = await t.logIn(patient);
    const { page, sent, reads } = await statementsOf(agent, "/patient", context);
    assert.match(page.text, /Protect your account with two-step login/);
    assert.equal(reads.length, sent.length, "no write");
    assert.ok(sent.length <= 2, `${sent.length} statements: ${sent.map((s) => s.sql).join(" | ")}`);
  });

  test("/patient with an authenticator app, and with a phone", async (context) => {
    const withApp = await t.createUser("patient", { withApp: true });
    const { agent } = await t.logIn(withApp);
    const app = await statementsOf(agent, "/patient", context);
    assert.doesNotMatch(app.page.text, /Protect your account/);
    assert.equal(app.reads.length, app.sent.length, "no write");
    assert.ok(app.sent.length <= 2, `${app.sent.length} statements`);

    const withPhone = await t.createUser("patient");
    const signedIn = await t.logIn(withPhone);
    await addPhone(withPhone);
    const phone = await statementsOf(signedIn.agent, "/patient", context);
    assert.doesNotMatch(phone.page.text, /Protect your account/);
    assert.ok(phone.sent.length <= 2, `${phone.sent.length} statements`);
  });

  test("/doctor with an app, and with only a phone", async (context) => {
    const doctor = await t.createUser("doctor");
    const patient = await t.createUser("patient");
    await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
    const { agent } = await t.logIn(doctor);
    const app = await statementsOf(agent, "/doctor", context);
    assert.match(app.page.text, new RegExp(patient.name));
    assert.equal(app.reads.length, app.sent.length, "no write");
    assert.ok(app.sent.length <= 2, `${app.sent.length} statements`);

    await addPhone(doctor);
    await t.database.db.query("DELETE FROM totp_factors WHERE user_id = $1", [doctor.id]);
    const phone = await statementsOf(agent, "/doctor", context);
    assert.match(phone.page.text, new RegExp(patient.name), "a phone is a second factor: the doctor stays in");
    assert.ok(phone.sent.length <= 2, `${phone.sent.length} statements`);
  });

  test("/admin", async (context) => {
    const admin = await t.createUser("admin");
    const { agent } = await t.logIn(admin);
    const { sent, reads } = await statementsOf(agent, "/admin", context);
    assert.equal(reads.length, sent.length, "no write");
    assert.ok(sent.length <= 2, `${sent.length} statements`);
  });

  test("/account/security, with and without second factors", async (context) => {
    const patient = await t.createUser("patient");
    const plain = await t.logIn(patient);
    const bare = await statementsOf(plain.agent, "/account/security", context);
    assert.match(bare.page.text, /Two-step login is <strong>off<\/strong>/);
    assert.equal(bare.reads.length, bare.sent.length, "no write");
    assert.ok(bare.sent.length <= 2, `${bare.sent.length} statements: ${bare.sent.map((s) => s.sql).join(" | ")}`);

    const doctor = await t.createUser("doctor");
    await t.services.recoveryCodes.regenerateRecoveryCodes(doctor.id);
    const { agent } = await t.logIn(doctor);
    await addPhone(doctor);
    await t.logIn(doctor); // a second session elsewhere
    const full = await statementsOf(agent, "/account/security", context);
    assert.match(full.page.text, /Two-step login is <strong>on<\/strong>/);
    assert.match(full.page.text, /10 left/);
    assert.ok(full.page.text.includes(maskPhoneNumber("+31612345678")), "the masked phone number");
    assert.match(full.page.text, /here and in 1 other place/);
    assert.match(full.page.text, /Logged in with the authenticator app/);
    assert.match(full.page.text, /the method you used last: <strong>the authenticator app/);
    assert.equal(full.reads.length, full.sent.length, "no write");
    assert.ok(full.sent.length <= 2, `${full.sent.length} statements`);
  });
});

describe("templates", () => {
  // Express loads EJS with require(): this is the instance that compiles the portal's templates.
  const ejs = createRequire(import.meta.url)("ejs") as { compile: (...args: unknown[]) => unknown };

  async function compilationsOf(app: TestApp["app"]): Promise<number[]> {
    const original = ejs.compile;
    let count = 0;
    ejs.compile = (...args: unknown[]) => {
      count += 1;
      return original.apply(ejs, args);
    };
    try {
      const counts: number[] = [];
      for (let view = 0; view < 3; view += 1) {
        const before = count;
        assert.equal((await request(app).get("/login")).status, 200);
        counts.push(count - before);
      }
      return counts;
    } finally {
      ejs.compile = original;
    }
  }

  test("are compiled once, not on every page view", async () => {
    const [, ...later] = await compilationsOf(t.app);
    assert.deepEqual(later, [0, 0], "the second and third views compile nothing");
  });

  test("are compiled on every view with VIEW_CACHE=false, so that npm run dev shows edits", async () => {
    const uncached = await startTestApp({ database: t.database, env: { VIEW_CACHE: "false" } });
    const counts = await compilationsOf(uncached.app);
    assert.ok(
      counts.every((n) => n > 0),
      `compilations per view: ${counts.join(", ")}`,
    );
  });
});
