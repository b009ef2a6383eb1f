import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type request from "supertest";
import { noRequestContext } from "../../src/services/audit.js";
import { logIn, startTestApp, submitForm, type TestApp, type TestUser } from "../support/app.js";

// What the phone methods say: the SMS text, a resend's confirmation, a call not yet answered, and
// the way on after "this was not me" (9), for the user and for the practice.

let t: TestApp;
before(async () => {
  t = await startTestApp({ env: { PRACTICE_PHONE: "020 123 4567", PUBLIC_BASE_URL: "https://portal.example.nl" } });
});
after(() => t.close());

async function lastSms(to: string): Promise<string> {
  const { rows } = await t.database.db.query(
    "SELECT body FROM phone_outbox WHERE kind = 'sms' AND to_number = $1 ORDER BY id DESC LIMIT 1",
    [to],
  );
  return String(rows[0]?.body);
}

async function patientWithPhone(phone: string): Promise<TestUser> {
  const user = await t.createUser("patient", { name: "Pat Jansen" });
  await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())", [
    user.id,
    phone,
  ]);
  return user;
}

async function passwordStep(user: TestUser): Promise<request.Agent> {
  const { agent, response } = await logIn(t.app, user.email, user.password);
  assert.equal(response.headers.location, "/login/2fa");
  return agent;
}

describe("the SMS", () => {
  test("names the portal and ends with the origin-bound line phones use for safe autofill", async () => {
    const user = await patientWithPhone("+31612000001");
    const agent = await passwordStep(user);
    await submitForm(agent, "/login/2fa", "/login/2fa/sms/send", {});
    const body = await lastSms("+31612000001");
    assert.match(body, /^Your Portal code is (\d{6})\. It expires in 5 minutes\.\n\n@portal\.example\.nl #\1$/);
  });

  test("proving a new number uses the same form", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    await submitForm(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 12000002" });
    assert.match(
      await lastSms("+31612000002"),
      /^Portal: code (\d{6}) confirms this phone number\. Valid for 5 minutes\.\n\n@portal\.example\.nl #\1$/,
    );
  });
});

describe("sending a new code", () => {
  test("the page confirms the number and the time, and that only the newest code works", async () => {
    const user = await patientWithPhone("+31612000003");
    const agent = await passwordStep(user);
    await submitForm(agent, "/login/2fa", "/login/2fa/sms/send", {});
    const first = await agent.get("/login/2fa/sms");
    assert.doesNotMatch(first.text, /We sent a new code/, "the first code is announced by the page itself");
    t.clock.advanceSeconds(40);
    const again = await submitForm(agent, "/login/2fa/sms", "/login/2fa/sms/send", {});
    assert.equal(again.headers.location, "/login/2fa/sms");
    const page = await agent.get("/login/2fa/sms");
    const at = new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone: "Europe/Amsterdam" }).format(t.clock.now());
    assert.ok(
      page.text.includes(`role="status">We sent a new code to +31 6 •••• ••03 at ${at}. Only the newest code works.`),
      page.text.match(/role="status">[^<]*/)?.[0],
    );
  });
});

describe("the phone call", () => {
  async function startCall(user: TestUser) {
    const agent = await passwordStep(user);
    assert.equal((await submitForm(agent, "/login/2fa", "/login/2fa/call/start", {})).headers.location, "/login/2fa/call");
    const { rows } = await t.database.db.query(
      "SELECT token FROM phone_challenges WHERE user_id = $1 AND channel = 'call' ORDER BY id DESC LIMIT 1",
      [user.id],
    );
    return { agent, token: String(rows[0]!.token) };
  }

  test('"I pressed 1 — continue" before the call was answered says that no 1 has been received yet', async () => {
    const user = await patientWithPhone("+31612000004");
    const { agent } = await startCall(user);
    const early = await submitForm(agent, "/login/2fa/call", "/login/2fa/call/continue", {});
    assert.equal(early.headers.location, "/login/2fa/call");
    const page = await agent.get("/login/2fa/call");
    assert.match(page.text, /No 1 has been received from your phone yet/);
  });

  test("pressing 9 gives next steps that work, and flags the event for the practice", async () => {
    const user = await patientWithPhone("+31612000005");
    const { agent, token } = await startCall(user);
    assert.equal(await t.services.phone.answerCall(token, "9", noRequestContext), "denied");
    const page = await agent.get("/login/2fa/call");
    assert.match(page.text, /refused/);
    assert.match(page.text, /href="tel:\+31201234567"/, "the practice's number");
    assert.match(page.text, /href="\/login\?next=%2Faccount%2Fpassword"/, "log in and change the password");
    assert.doesNotMatch(page.text, />Back to the login page</);

    // The way offered works: the password and the phone still open the account, then the password page.
    t.clock.advanceMinutes(1);
    const { agent: again } = await logIn(t.app, user.email, user.password);
    const loginPage = await again.get("/login?next=%2Faccount%2Fpassword");
    assert.match(loginPage.text, /name="next" value="\/account\/password"/);
    const fresh = await submitForm(again, "/login?next=%2Faccount%2Fpassword", "/login", {
      email: user.email,
      password: user.password,
      next: "/account/password",
    });
    assert.equal(fresh.headers.location, "/login/2fa");
    await submitForm(again, "/login/2fa", "/login/2fa/sms/send", {});
    const code = (await lastSms("+31612000005")).match(/\d{6}/)![0];
    const signedIn = await submitForm(again, "/login/2fa/sms", "/login/2fa/sms", { code });
    assert.equal(signedIn.headers.location, "/account/password");
    assert.match((await again.get("/account/password")).text, /Change your password/);

    const admin = await t.createUser("admin");
    const { agent: adminAgent } = await t.logIn(admin);
    const userPage = await adminAgent.get(`/admin/users/${user.id}`);
    assert.match(userPage.text, /class="card admin-flag"[^>]*>[\s\S]*Login refused on the phone/, "flagged on the user's page");
    const audit = await adminAgent.get(`/admin/audit?user=${user.id}`);
    assert.match(audit.text, /admin-tag-warn">Reported: not me/, "flagged in the audit log");
  });
});
