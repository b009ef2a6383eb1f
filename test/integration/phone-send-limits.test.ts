import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import type request from "supertest";
import { noRequestContext } from "../../src/services/audit.js";
import { createPatientWithPhone, logIn, submitForm, type TestApp } from "../support/app.js";
import type { TestDatabase } from "../support/database.js";
import { type StatementLog, startLoggedTestApp } from "../support/statement-log.js";

// Who may use up the send budget of a phone number, and what a refused send leaves behind.

let log: StatementLog;
let t: TestApp;
let database: TestDatabase;

before(async () => {
  ({ t, log, database } = await startLoggedTestApp());
});
after(() => database.close());
// Each test starts a day later, so the limits of earlier tests are behind it.
beforeEach(() => t.clock.advanceMinutes(24 * 60 + 1));

const patientWithPhone = (phone: string) => createPatientWithPhone(t, phone);

async function signedInPatient(): Promise<request.Agent> {
  const user = await t.createUser("patient");
  const { agent } = await logIn(t.app, user.email, user.password);
  return agent;
}

async function outboxTo(phone: string, kind: "sms" | "call") {
  const { rows } = await database.db.query("SELECT count(*)::int AS n FROM phone_outbox WHERE to_number = $1 AND kind = $2", [
    phone,
    kind,
  ]);
  return Number(rows[0]!.n);
}

async function auditCount(userId: number, type: string) {
  const { rows } = await database.db.query(
    "SELECT count(*)::int AS n FROM audit_events WHERE subject_user_id = $1 AND event_type = $2",
    [userId, type],
  );
  return Number(rows[0]!.n);
}

const addNumber = (agent: request.Agent, phone: string) =>
  submitForm(agent, "/account/2fa/phone", "/account/2fa/phone", { phone });

describe("sends to someone else's number", () => {
  test("a patient adding another user's number is refused before that user's SMS and call login are", async () => {
    const victim = await patientWithPhone("+31644440001");
    const attacker = await signedInPatient();
    const statuses: number[] = [];
    for (let i = 0; i < 10 && statuses.at(-1) !== 429; i += 1) {
      statuses.push((await addNumber(attacker, "06 44440001")).status);
      // Within the 5 minutes after the attacker's own login, in which no new confirmation is asked.
      t.clock.advanceSeconds(20);
    }
    assert.deepEqual(statuses, [303, 303, 303, 429], "3 codes to prove a number per 15 minutes");
    assert.equal(await outboxTo("+31644440001", "sms"), 3);

    const { agent, response } = await logIn(t.app, victim.email, victim.password);
    assert.equal(response.headers.location, "/login/2fa");
    const sms = await submitForm(agent, "/login/2fa", "/login/2fa/sms/send", {});
    assert.equal(sms.status, 303, "the victim's login code is sent");
    assert.equal(sms.headers.location, "/login/2fa/sms");
    const call = await submitForm(agent, "/login/2fa", "/login/2fa/call/start", {});
    assert.equal(call.headers.location, "/login/2fa/call", "the victim's login call is placed");
    assert.equal(await outboxTo("+31644440001", "sms"), 4);
    assert.equal(await outboxTo("+31644440001", "call"), 1);
  });

  test("codes to prove one number stay limited per number, whichever accounts ask: 3 per 15 minutes, 5 a day", async () => {
    const agents = await Promise.all(Array.from({ length: 4 }, () => signedInPatient()));
    const statuses: number[] = [];
    for (const agent of agents) statuses.push((await addNumber(agent, "06 44440002")).status);
    assert.deepEqual(statuses, [303, 303, 303, 429]);
    const limited = await addNumber(agents[3]!, "06 44440002");
    assert.match(limited.text, /until <time datetime=/);

    t.clock.advanceMinutes(16);
    // Sessions end after 15 minutes idle: new accounts ask.
    const later: number[] = [];
    for (const agent of await Promise.all(agents.map(() => signedInPatient()))) {
      later.push((await addNumber(agent, "06 44440002")).status);
    }
    assert.deepEqual(later, [303, 303, 429, 429], "5 a day");
    assert.equal(await outboxTo("+31644440002", "sms"), 5);
  });

  test("a parallel burst of accounts proving one number sends 3 codes", async () => {
    const users = await Promise.all(Array.from({ length: 8 }, () => t.createUser("patient")));
    const results = await Promise.all(
      users.map((user) => t.services.phone.startPhoneEnrolment(user.id, "+31644440003", noRequestContext)),
    );
    assert.equal(results.filter((result) => result.status === "sent").length, 3);
    assert.equal(results.filter((result) => result.status === "rate_limited").length, 5);
    assert.equal(await outboxTo("+31644440003", "sms"), 3);
  });

  test("logins of two accounts sharing a number still share its login budget", async () => {
    const first = await patientWithPhone("+31644440004");
    const second = await patientWithPhone("+31644440004");
    for (let i = 0; i < 6; i += 1) {
      const attempt = await t.services.twoFactor.beginLoginAttempt(first.id);
      assert.equal((await t.services.phone.sendLoginCode(first.id, attempt, noRequestContext)).status, "sent");
    }
    const attempt = await t.services.twoFactor.beginLoginAttempt(second.id);
    assert.equal((await t.services.phone.sendLoginCode(second.id, attempt, noRequestContext)).status, "rate_limited");
  });
});

describe("refused sends in the audit log", () => {
  test("30 refused sends leave one event, and the security page still shows the sends before them", async () => {
    const user = await patientWithPhone("+31644440005");
    for (let i = 0; i < 6; i += 1) {
      const attempt = await t.services.twoFactor.beginLoginAttempt(user.id);
      assert.equal((await t.services.phone.sendLoginCode(user.id, attempt, noRequestContext)).status, "sent");
    }
    for (let i = 0; i < 30; i += 1) {
      t.clock.advanceSeconds(10);
      const attempt = await t.services.twoFactor.beginLoginAttempt(user.id);
      const send = i % 2 ? t.services.phone.startLoginCall : t.services.phone.sendLoginCode;
      assert.equal((await send(user.id, attempt, noRequestContext)).status, "rate_limited");
    }
    assert.equal(await auditCount(user.id, "2fa.send_limited"), 1);
    const shown = await t.services.audit.listEventsForUser(user.id, 20);
    assert.ok(
      shown.some((event) => event.type === "2fa.challenge_sent"),
      "the real sends are still on the page",
    );

    // Once the limit has passed, a new limit is recorded again.
    t.clock.advanceMinutes(16);
    for (let i = 0; i < 6; i += 1) {
      const attempt = await t.services.twoFactor.beginLoginAttempt(user.id);
      assert.equal((await t.services.phone.sendLoginCode(user.id, attempt, noRequestContext)).status, "sent");
    }
    const attempt = await t.services.twoFactor.beginLoginAttempt(user.id);
    assert.equal((await t.services.phone.sendLoginCode(user.id, attempt, noRequestContext)).status, "rate_limited");
    assert.equal(await auditCount(user.id, "2fa.send_limited"), 2);
  });

  test("a send refused by the account's own limit does not wait for the portal-wide lock", async () => {
    const user = await patientWithPhone("+31644440006");
    for (let i = 0; i < 6; i += 1) {
      const attempt = await t.services.twoFactor.beginLoginAttempt(user.id);
      await t.services.phone.sendLoginCode(user.id, attempt, noRequestContext);
    }
    const attempt = await t.services.twoFactor.beginLoginAttempt(user.id);
    log.clear();
    assert.equal((await t.services.phone.sendLoginCode(user.id, attempt, noRequestContext)).status, "rate_limited");
    assert.ok(!log.statements.some((statement) => /pg_advisory_xact_lock/.test(statement.sql)));
  });
});
