import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "node-html-parser";
import type request from "supertest";
import { csrfFrom, logIn, startTestApp, submitForm, type TestApp, type TestUser } from "../support/app.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

// What a user sees when a limit stops them: until when, and what they can do meanwhile.

let database: TestDatabase;
let t: TestApp;
let withoutPhone: TestApp;
before(async () => {
  database = await createTestDatabase();
  t = await startTestApp({ database, env: { PRACTICE_PHONE: "020 123 4567" } });
  // The same database, for the pages of a practice that did not set PRACTICE_PHONE.
  withoutPhone = await startTestApp({ database });
});
after(() => database.close());

/** A patient with an app, a verified phone and recovery codes. */
async function patientWithEverything(phone: string): Promise<TestUser> {
  const user = await t.createUser("patient", { withApp: true });
  await database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())", [
    user.id,
    phone,
  ]);
  await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
  return user;
}

async function passwordStep(app: TestApp, user: TestUser): Promise<request.Agent> {
  const { agent, response } = await logIn(app.app, user.email, user.password);
  assert.equal(response.headers.location, "/login/2fa");
  return agent;
}

const linksOf = (html: string) =>
  parse(html)
    .querySelectorAll("main a")
    .map((link) => ({ href: link.getAttribute("href"), text: link.text.trim() }));

describe("the send-limit page", () => {
  test("names the time the limit ends and offers the app and a recovery code on the same page", async () => {
    const user = await patientWithEverything("+31611110001");
    let limited: request.Response | null = null;
    for (let i = 0; i < 7 && !limited; i += 1) {
      const agent = await passwordStep(t, user);
      const response = await submitForm(agent, "/login/2fa", "/login/2fa/sms/send", {});
      if (response.status === 429) limited = response;
    }
    assert.ok(limited, "the seventh message in 15 minutes is refused");
    // The clock starts at 09:00 UTC, 10:00 in Amsterdam; the first message ages out 15 minutes later.
    assert.match(limited.text, /until <time datetime="2026-03-02T09:15:00.000Z">10:15<\/time>/);
    assert.equal(limited.headers["retry-after"], "900");
    const links = linksOf(limited.text);
    assert.ok(
      links.some((link) => link.href === "/login/2fa/app" && /authenticator app/.test(link.text)),
      JSON.stringify(links),
    );
    assert.ok(links.some((link) => link.href === "/login/2fa/recovery" && /recovery code/.test(link.text)));
    assert.doesNotMatch(limited.text, /Go to the start page/);
    assert.match(limited.text, /020 123 4567/, "and how to reach the practice");
  });

  test("a call refused by the limit offers the same", async () => {
    const user = await patientWithEverything("+31611110002");
    let limited: request.Response | null = null;
    for (let i = 0; i < 7 && !limited; i += 1) {
      const agent = await passwordStep(t, user);
      const response = await submitForm(agent, "/login/2fa", "/login/2fa/call/start", {});
      if (response.status === 429) limited = response;
    }
    assert.ok(limited);
    assert.ok(linksOf(limited.text).some((link) => link.href === "/login/2fa/app"));
    t.clock.advanceMinutes(16);
  });

  test("confirming a change offers the app and recovery codes when SMS is paused", async () => {
    const user = await patientWithEverything("+31611110003");
    const { agent } = await t.logIn(user);
    let limited: request.Response | null = null;
    for (let i = 0; i < 7 && !limited; i += 1) {
      t.clock.advanceSeconds(31);
      const response = await submitForm(agent, "/account/confirm?next=/account/recovery-codes", "/account/confirm/sms", {
        next: "/account/recovery-codes",
      });
      if (response.status === 429) limited = response;
    }
    assert.ok(limited);
    assert.match(limited.text, /until <time/);
    assert.ok(
      linksOf(limited.text).some((link) => link.href === "/account/confirm?next=%2Faccount%2Frecovery-codes"),
      "back to the confirmation, where the app or a recovery code works",
    );
    assert.match(limited.text, /authenticator app/);
    assert.match(limited.text, /recovery code/);
    t.clock.advanceMinutes(16);
  });
});

describe("the lock-out page", () => {
  async function lockOut(app: TestApp, user: TestUser): Promise<request.Response> {
    let last: request.Response | null = null;
    for (let round = 0; round < 2; round += 1) {
      const agent = await passwordStep(app, user);
      for (let i = 0; i < 5; i += 1) last = await submitForm(agent, "/login/2fa/app", "/login/2fa/app", { code: "999999" });
    }
    assert.equal(last?.status, 429);
    return last!;
  }

  test("names the time the lock ends and the practice's phone number", async () => {
    const user = await t.createUser("patient", { withApp: true });
    const locked = await lockOut(t, user);
    const until = t.clock.now().getTime() + 15 * 60_000;
    assert.match(locked.text, new RegExp(`locked until <time datetime="${new Date(until).toISOString()}">`));
    assert.equal(locked.headers["retry-after"], "900");
    assert.match(locked.text, /href="tel:\+31201234567"/);
    assert.match(locked.text, /020 123 4567/);
    // Every way in waits for the lock, so the page offers none of them.
    assert.doesNotMatch(locked.text, /href="\/login\/2fa\/(app|recovery|sms)"/);
    t.clock.advanceMinutes(16);
  });

  test("without PRACTICE_PHONE it still says to contact the practice", async () => {
    const user = await withoutPhone.createUser("patient", { withApp: true });
    const locked = await lockOut(withoutPhone, user);
    assert.match(locked.text, /locked until <time/);
    assert.match(locked.text, /[Cc]ontact the practice/);
    assert.doesNotMatch(locked.text, /href="tel:/);
  });

  test("the method page of a locked account says until when and how to reach the practice", async () => {
    const user = await t.createUser("patient", { withApp: true });
    await lockOut(t, user);
    const agent = await passwordStep(t, user);
    const page = await agent.get("/login/2fa");
    assert.match(page.text, /locked until/);
    assert.match(page.text, /020 123 4567/);
    assert.equal(csrfFrom(page.text).length > 0, true);
    t.clock.advanceMinutes(16);
  });
});
