import assert from "node:assert/strict";
import type { Server } from "node:http";
import { createServer } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import request from "supertest";
import { noRequestContext } from "../../src/services/audit.js";
import {
  assertBurstChecksTen,
  csrfFrom,
  logIn,
  newRecoveryCodesPage,
  startTestApp,
  type TestApp,
  type TestUser,
} from "../support/app.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { signTwilioRequest, startTwilioEmulator, type TwilioEmulator } from "../support/twilio-emulator.js";

const accountSid = `AC${"1".repeat(32)}`;
const authToken = "emulator-auth-token";
const mobile = "+31612345678";

let database: TestDatabase;
let emulator: TwilioEmulator;
let t: TestApp;
let server: Server;
let baseUrl: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

before(async () => {
  database = await createTestDatabase();
  emulator = await startTwilioEmulator({ accountSid, authToken });
  // Twilio calls the portal back on PUBLIC_BASE_URL, so the app listens there for real.
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  t = await startTestApp({
    database,
    env: {
      PHONE_GATEWAY: "twilio",
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: authToken,
      TWILIO_FROM_NUMBER: "+3197010000000",
      TWILIO_API_BASE_URL: emulator.baseUrl,
      PUBLIC_BASE_URL: baseUrl,
    },
  });
  server = t.app.listen(port, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await emulator.close();
  await database.close();
});
// Each test starts a day later, so the send limits of earlier tests (same numbers) are behind it.
beforeEach(() => {
  emulator.reset();
  t.clock.advanceMinutes(24 * 60 + 1);
});

const codeIn = (body: string) => body.match(/\b(\d{6})\b/)?.[1] ?? "";

/** A patient whose phone is verified directly through the services. */
async function patientWithPhone(phone = mobile): Promise<TestUser> {
  const user = await t.createUser("patient");
  await database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())", [
    user.id,
    phone,
  ]);
  await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
  return user;
}

async function passwordStep(user: TestUser) {
  const { agent, response } = await logIn(t.app, user.email, user.password);
  assert.equal(response.headers.location, "/login/2fa");
  return agent;
}

async function post(agent: request.Agent, pagePath: string, action: string, fields: Record<string, string> = {}) {
  const page = await agent.get(pagePath);
  return agent
    .post(action)
    .type("form")
    .send({ ...fields, _csrf: csrfFrom(page.text) });
}

/**
 * A login waiting on a call that is still ringing: the emulator does not answer, and once its
 * "no-answer" report has arrived the call is put back to pending, as if still ringing.
 */
async function startRingingCall() {
  const user = await patientWithPhone();
  emulator.setCallBehaviour({ answer: "no-answer" });
  const agent = await passwordStep(user);
  await post(agent, "/login/2fa", "/login/2fa/call/start");
  await emulator.waitForCall(emulator.calls.at(-1)!.sid);
  const { rows } = await database.db.query(
    "UPDATE phone_challenges SET status = 'pending' WHERE user_id = $1 AND channel = 'call' RETURNING token",
    [user.id],
  );
  return { user, agent, token: String(rows[0]!.token) };
}

async function auditTypes(userId: number) {
  return (await t.services.audit.listEventsForUser(userId, 100)).map((event) => event.type);
}

const countRefusedCodes = async (userId: number) =>
  (await auditTypes(userId)).filter((type) => type === "2fa.code_refused").length;

/** A key pressed on the call, as Twilio's signed gather callback reports it. */
function pressKey(token: string, digits: string) {
  const path = `/webhooks/twilio/gather/${token}`;
  const params = { CallSid: "CA123", Digits: digits };
  return request(t.app)
    .post(path)
    .set("X-Twilio-Signature", signTwilioRequest(authToken, `${baseUrl}${path}`, params))
    .type("form")
    .send(params);
}

describe("registering a phone", () => {
  test("the number counts only after the code sent by SMS comes back", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const sent = await post(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 12345678" });
    assert.equal(sent.status, 303);
    assert.equal(sent.headers.location, "/account/2fa/phone/verify");
    assert.equal(emulator.messages.length, 1);
    const message = emulator.messages[0]!;
    assert.equal(message.to, mobile);
    assert.equal(message.from, "+3197010000000");
    assert.match(message.body, /^Portal: code \d{6} confirms this phone number\. Valid for 5 minutes\.\n\n@127\.0\.0\.1 #\d{6}$/);
    assert.match(message.statusCallback ?? "", new RegExp(`^${baseUrl}/webhooks/twilio/message-status/[A-Za-z0-9_-]{20,}$`));
    assert.doesNotMatch(message.statusCallback ?? "", new RegExp(codeIn(message.body)), "no code in the callback URL");
    const verifyPage = await agent.get("/account/2fa/phone/verify");
    assert.match(verifyPage.text, /\+31 6 •••• ••78/);
    assert.equal(await t.services.twoFactor.hasSecondFactor(user.id), false, "not before the code");

    const wrong = await agent
      .post("/account/2fa/phone/verify")
      .type("form")
      .send({ code: "000000", _csrf: csrfFrom(verifyPage.text) });
    assert.equal(wrong.status, 400);
    const right = await agent
      .post("/account/2fa/phone/verify")
      .type("form")
      .send({ code: codeIn(message.body), _csrf: csrfFrom(verifyPage.text) });
    assert.match((await newRecoveryCodesPage(agent, right)).text, /Your recovery codes/);
    assert.equal((await t.services.phone.findVerifiedPhone(user.id))?.phone, mobile);
    const security = await agent.get("/account/security");
    assert.match(security.text, /\+31 6 •••• ••78, verified/);
    assert.doesNotMatch(security.text, /612345678/, "never the full number");
  });

  test("an invalid, foreign, premium or landline number is refused with a clear message and nothing is sent", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    for (const [phone, message] of [
      ["06-1234", /not a valid phone number/],
      ["+44 7911 123456", /Only phone numbers from NL/],
      ["0900 1234567", /Premium-rate/],
      ["020 123 4567", /not a mobile number/],
    ] as const) {
      const response = await post(agent, "/account/2fa/phone", "/account/2fa/phone", { phone });
      assert.equal(response.status, 400, phone);
      assert.match(response.text, message);
    }
    assert.equal(emulator.requests.length, 0);
  });

  test("changing the number repeats the proof and warns the old number", async () => {
    const user = await patientWithPhone("+31611111111");
    const { agent } = await t.logIn(user);
    // The patient has SMS: finish the login by SMS first.
    assert.equal((await post(agent, "/login/2fa", "/login/2fa/sms/send")).status, 303);
    const loginCode = codeIn(emulator.messages.at(-1)!.body);
    assert.equal((await post(agent, "/login/2fa/sms", "/login/2fa/sms", { code: loginCode })).status, 303);
    await post(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 22222222" });
    const code = codeIn(emulator.messages.at(-1)!.body);
    assert.equal(emulator.messages.at(-1)!.to, "+31622222222");
    const done = await post(agent, "/account/2fa/phone/verify", "/account/2fa/phone/verify", { code });
    assert.equal(done.headers.location, "/account/security");
    const warning = emulator.messages.at(-1)!;
    assert.equal(warning.to, "+31611111111");
    assert.match(warning.body, /changed to one ending in 22\./);
  });
});

describe("codes sent in parallel and typed wrongly", () => {
  test("a burst of 60 codes proving a number checks no more than 10, then the lock holds", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    await post(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 12345678" });
    const right = codeIn(emulator.messages.at(-1)!.body);
    const page = await agent.get("/account/2fa/phone/verify");
    const csrf = csrfFrom(page.text);
    await assertBurstChecksTen(t, { agent, userId: user.id, action: "/account/2fa/phone/verify", csrf, right });
    assert.equal(await t.services.phone.findVerifiedPhone(user.id), null);
  });

  test("an SMS code that is not 6 digits is answered first and costs no try; spaces and dashes are fine", async () => {
    const user = await patientWithPhone();
    const agent = await passwordStep(user);
    await post(agent, "/login/2fa", "/login/2fa/sms/send");
    const code = codeIn(emulator.messages.at(-1)!.body);
    for (const typed of ["abcdef", "12345", "1234567", "12a456", "123.456", "12 345"]) {
      const response = await post(agent, "/login/2fa/sms", "/login/2fa/sms", { code: typed });
      assert.equal(response.status, 400, typed);
      assert.match(response.text, /Enter the 6 digits from the SMS/, typed);
      assert.doesNotMatch(response.text, /not right|tr(y|ies) left/, typed);
    }
    assert.equal(await countRefusedCodes(user.id), 0, "nothing was counted");
    const done = await post(agent, "/login/2fa/sms", "/login/2fa/sms", { code: `${code.slice(0, 3)} - ${code.slice(3)}` });
    assert.equal(done.headers.location, "/", "the attempt is still open, and the spaced code works");
  });

  test("a code proving a number that is not 6 digits is answered without a try", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    await post(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 12345678" });
    const code = codeIn(emulator.messages.at(-1)!.body);
    for (const typed of ["abcdef", "12345", "1234567", "12a456", "123.456", "12 345"]) {
      const response = await post(agent, "/account/2fa/phone/verify", "/account/2fa/phone/verify", { code: typed });
      assert.equal(response.status, 400, typed);
      assert.match(response.text, /Enter the 6 digits from the SMS/, typed);
    }
    assert.equal(await countRefusedCodes(user.id), 0, "nothing was counted");
    const done = await post(agent, "/account/2fa/phone/verify", "/account/2fa/phone/verify", {
      code: `${code.slice(0, 3)} ${code.slice(3)}`,
    });
    assert.equal(done.headers.location, "/account/recovery-codes/new", "the spaced code proves the number");
    assert.equal((await t.services.phone.findVerifiedPhone(user.id))?.phone, mobile);
  });
});

describe("the two-step lock stops every method", () => {
  /** Ten well-formed wrong recovery codes over two logins lock two-step login for the account. */
  async function lockByWrongCodes(user: TestUser) {
    for (let round = 0; round < 2; round += 1) {
      const agent = await passwordStep(user);
      for (let i = 0; i < 5; i += 1)
        await post(agent, "/login/2fa/recovery", "/login/2fa/recovery", { code: "aaaaa-bbbbb-ccccc" });
    }
    assert.ok(await t.services.twoFactor.findLockedUntil(user.id), "locked");
  }

  test("pressing 1 on a call that was ringing when the lock came signs nothing in and keeps the lock", async () => {
    const { user, agent, token } = await startRingingCall();
    await lockByWrongCodes(user);
    const pressed = await pressKey(token, "1");
    assert.equal(pressed.status, 200);
    assert.match(pressed.text, /locked/);
    assert.doesNotMatch(pressed.text, /login is confirmed/);
    assert.notDeepEqual((await agent.get("/login/2fa/call/status")).body, { state: "approved" });
    const page = await agent.get("/login/2fa/call");
    assert.match(page.text, /locked/);
    assert.notEqual((await post(agent, "/login/2fa/call", "/login/2fa/call/continue")).headers.location, "/");
    assert.notEqual((await agent.get("/patient")).status, 200, "not signed in");
    assert.ok(await t.services.twoFactor.findLockedUntil(user.id), "the lock holds");
    assert.ok((await auditTypes(user.id)).includes("2fa.call_refused_locked"), "the refused 1 is in the audit log");
  });

  test("no call is placed and no SMS sent while locked; after the lock a call signs in again", async () => {
    const user = await patientWithPhone();
    await lockByWrongCodes(user);
    emulator.reset();
    const agent = await passwordStep(user);
    const call = await post(agent, "/login/2fa", "/login/2fa/call/start");
    assert.equal(call.status, 429);
    assert.match(call.text, /locked until/);
    const sms = await post(agent, "/login/2fa", "/login/2fa/sms/send");
    assert.equal(sms.status, 429);
    assert.equal(emulator.requests.length, 0, "Twilio heard nothing");

    t.clock.advanceMinutes(15);
    emulator.setCallBehaviour({ answer: "1" });
    const later = await passwordStep(user);
    assert.equal((await post(later, "/login/2fa", "/login/2fa/call/start")).headers.location, "/login/2fa/call");
    await emulator.waitForCall(emulator.calls.at(-1)!.sid);
    assert.equal((await post(later, "/login/2fa/call", "/login/2fa/call/continue")).headers.location, "/");
  });
});

describe("logging in by SMS", () => {
  test("choose SMS → code sent → signed in", async () => {
    const user = await patientWithPhone();
    const agent = await passwordStep(user);
    const choose = await agent.get("/login/2fa");
    assert.match(choose.text, /By SMS/);
    assert.match(choose.text, /With a phone call/);
    assert.doesNotMatch(choose.text, /authenticator app/);
    const sent = await agent
      .post("/login/2fa/sms/send")
      .type("form")
      .send({ _csrf: csrfFrom(choose.text) });
    assert.equal(sent.headers.location, "/login/2fa/sms");
    assert.match(emulator.messages[0]!.body, /^Your Portal code is (\d{6})\. It expires in 5 minutes\.\n\n@127\.0\.0\.1 #\1$/);
    const page = await agent.get("/login/2fa/sms");
    assert.match(page.text, /\+31 6 •••• ••78/);
    assert.match(page.text, /A new code replaces the old one/);
    const done = await agent
      .post("/login/2fa/sms")
      .type("form")
      .send({ code: codeIn(emulator.messages[0]!.body), _csrf: csrfFrom(page.text) });
    assert.equal(done.status, 303);
    assert.equal((await agent.get("/patient")).status, 200);
    assert.ok((await auditTypes(user.id)).includes("2fa.challenge_sent"));
  });

  test("wrong, expired, reused and other-session codes are refused", async () => {
    const user = await patientWithPhone();
    const a = await passwordStep(user);
    await post(a, "/login/2fa", "/login/2fa/sms/send");
    const codeA = codeIn(emulator.messages.at(-1)!.body);
    const b = await passwordStep(user);
    await post(b, "/login/2fa", "/login/2fa/sms/send");
    const codeB = codeIn(emulator.messages.at(-1)!.body);
    assert.equal((await post(b, "/login/2fa/sms", "/login/2fa/sms", { code: codeA })).status, 400, "session A's code fails in B");
    assert.equal(
      (await post(a, "/login/2fa/sms", "/login/2fa/sms", { code: codeA === "000000" ? "000001" : "000000" })).status,
      400,
      "wrong",
    );
    assert.equal((await post(a, "/login/2fa/sms", "/login/2fa/sms", { code: codeA })).status, 303, "A's own code works");
    const c = await passwordStep(user);
    assert.equal((await post(c, "/login/2fa/sms", "/login/2fa/sms", { code: codeA })).status, 400, "reused");
    t.clock.advanceMinutes(6);
    assert.equal((await post(b, "/login/2fa/sms", "/login/2fa/sms", { code: codeB })).status, 400, "expired after 5 minutes");
  });

  test("the same code sent twice in parallel succeeds exactly once", async () => {
    const user = await patientWithPhone();
    const agent = await passwordStep(user);
    await post(agent, "/login/2fa", "/login/2fa/sms/send");
    const code = codeIn(emulator.messages.at(-1)!.body);
    const page = await agent.get("/login/2fa/sms");
    const responses = await Promise.all(
      [1, 2].map(() =>
        agent
          .post("/login/2fa/sms")
          .type("form")
          .send({ code, _csrf: csrfFrom(page.text) }),
      ),
    );
    // One signs in; the other finds the login already finished (or the code used).
    const outcomes = responses.map((response) => (response.status === 303 ? response.headers.location : String(response.status)));
    assert.equal(outcomes.filter((outcome) => outcome === "/").length, 1, outcomes.join(", "));
  });

  test("send again: after 30 seconds, replaces the code and keeps the attempt counter", async () => {
    const user = await patientWithPhone();
    const agent = await passwordStep(user);
    await post(agent, "/login/2fa", "/login/2fa/sms/send");
    const first = codeIn(emulator.messages.at(-1)!.body);
    const early = await post(agent, "/login/2fa/sms", "/login/2fa/sms/send");
    assert.equal(early.status, 303);
    assert.equal(emulator.messages.length, 1, "no second SMS within 30 seconds");
    assert.match((await agent.get("/login/2fa/sms")).text, /30 seconds after the previous one/);
    for (let i = 0; i < 3; i += 1)
      await post(agent, "/login/2fa/sms", "/login/2fa/sms", { code: first === "111111" ? "222222" : "111111" });
    t.clock.advanceSeconds(31);
    await post(agent, "/login/2fa/sms", "/login/2fa/sms/send");
    assert.equal(emulator.messages.length, 2);
    const second = codeIn(emulator.messages.at(-1)!.body);
    const old = await post(agent, "/login/2fa/sms", "/login/2fa/sms", { code: first });
    assert.equal(old.status, 400, "the old code died with the resend");
    assert.match(old.text, /1 try left/, "the resend did not reset the counter");
    const voided = await post(agent, "/login/2fa/sms", "/login/2fa/sms", { code: second === "333333" ? "444444" : "333333" });
    assert.equal(voided.headers.location, "/login");
  });

  test("send limits: 8 codes asked in 15 minutes reach Twilio exactly 6 times, then a page says until when", async () => {
    const user = await patientWithPhone("+31633333333");
    const agent = await passwordStep(user);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      // "Send a new code" a minute apart: past the 30-second wait, within the login's 10 minutes.
      const response = await post(agent, "/login/2fa", "/login/2fa/sms/send");
      statuses.push(response.status);
      if (response.status === 429) {
        assert.match(response.text, /until <time datetime=/);
        assert.ok(Number(response.headers["retry-after"]) > 0);
      }
      t.clock.advanceSeconds(60);
    }
    assert.deepEqual(statuses, [303, 303, 303, 303, 303, 303, 429, 429]);
    assert.equal(emulator.requests.filter((r) => r.path.endsWith("/Messages.json")).length, 6);
    assert.ok((await auditTypes(user.id)).includes("2fa.send_limited"));
    // The same number under another account is limited too.
    const other = await patientWithPhone("+31633333333");
    const otherAgent = await passwordStep(other);
    assert.equal((await post(otherAgent, "/login/2fa", "/login/2fa/sms/send")).status, 429);
    t.clock.advanceMinutes(8);
    // The login attempt itself has expired by now (10 minutes): log in again.
    const later = await passwordStep(other);
    assert.equal((await post(later, "/login/2fa", "/login/2fa/sms/send")).status, 303, "possible again after 15 minutes");
  });

  test("send limits: at most 15 SMS and calls a day per account", async () => {
    const user = await patientWithPhone("+31633334444");
    const results: string[] = [];
    for (let i = 0; i < 16; i += 1) {
      // 3 minutes apart: never 6 in 15 minutes, so only the daily limit can stop them.
      t.clock.advanceMinutes(3);
      const attempt = await t.services.twoFactor.beginLoginAttempt(user.id);
      const send = i % 2 ? t.services.phone.startLoginCall : t.services.phone.sendLoginCode;
      results.push((await send(user.id, attempt, noRequestContext)).status);
    }
    assert.deepEqual(results, [...Array(15).fill("sent"), "rate_limited"]);
    assert.equal(emulator.requests.filter((r) => /\/(Messages|Calls)\.json$/.test(r.path)).length, 15);
  });

  test("send limits hold for a parallel burst: 10 logins asking at once get 6 messages", async () => {
    const user = await patientWithPhone("+31633335555");
    const attempts = await Promise.all(Array.from({ length: 10 }, () => t.services.twoFactor.beginLoginAttempt(user.id)));
    const results = await Promise.all(
      attempts.map((attempt) => t.services.phone.sendLoginCode(user.id, attempt, noRequestContext)),
    );
    assert.equal(results.filter((result) => result.status === "sent").length, 6);
    assert.equal(results.filter((result) => result.status === "rate_limited").length, 4);
    assert.equal(emulator.requests.filter((r) => r.path.endsWith("/Messages.json")).length, 6);
  });

  test("a patient's first day stays within the limits: prove the phone, SMS, resend, SMS again, then a call", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    // 1: the code that proves the phone.
    assert.equal((await post(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 12340001" })).status, 303);
    const proof = codeIn(emulator.messages.at(-1)!.body);
    const proven = await post(agent, "/account/2fa/phone/verify", "/account/2fa/phone/verify", { code: proof });
    assert.ok([200, 303].includes(proven.status), `phone proven (${proven.status})`);
    assert.equal((await t.services.phone.findVerifiedPhone(user.id))?.phone, "+31612340001");
    t.clock.advanceMinutes(2);

    // 2 and 3: log in by SMS, ask for a new code once, use the newest.
    const first = await passwordStep(user);
    assert.equal((await post(first, "/login/2fa", "/login/2fa/sms/send")).status, 303);
    t.clock.advanceSeconds(40);
    assert.equal((await post(first, "/login/2fa/sms", "/login/2fa/sms/send")).status, 303);
    const newest = codeIn(emulator.messages.at(-1)!.body);
    assert.equal((await post(first, "/login/2fa/sms", "/login/2fa/sms", { code: newest })).headers.location, "/");
    t.clock.advanceMinutes(3);

    // 4: log in again on another device, by SMS.
    const second = await passwordStep(user);
    const sent = await post(second, "/login/2fa", "/login/2fa/sms/send");
    assert.equal(sent.status, 303, "the fourth message of the day is not refused");
    const code = codeIn(emulator.messages.at(-1)!.body);
    assert.equal((await post(second, "/login/2fa/sms", "/login/2fa/sms", { code })).headers.location, "/");
    t.clock.advanceMinutes(3);

    // 5: and then by phone call, confirmed with 1.
    emulator.setCallBehaviour({ answer: "1" });
    const third = await passwordStep(user);
    const called = await post(third, "/login/2fa", "/login/2fa/call/start");
    assert.equal(called.headers.location, "/login/2fa/call", "the call is not refused");
    await emulator.waitForCall(emulator.calls.at(-1)!.sid);
    assert.equal((await post(third, "/login/2fa/call", "/login/2fa/call/continue")).headers.location, "/");
    assert.equal(emulator.messages.length, 4);
    assert.equal(emulator.calls.length, 1);
    assert.ok(!(await auditTypes(user.id)).includes("2fa.send_limited"));
  });

  test("a Twilio error or timeout gives a clear page and the other methods", async () => {
    const user = await patientWithPhone("+31644444444");
    const agent = await passwordStep(user);
    emulator.failNext({ status: 400, code: 21211, message: "The 'To' number +31644444444 is not a valid phone number." });
    const failed = await post(agent, "/login/2fa", "/login/2fa/sms/send");
    assert.equal(failed.status, 502);
    assert.match(failed.text, /could not reach this number/);
    assert.match(failed.text, /Choose another method/);
    assert.doesNotMatch(failed.text, /644444444/);
    t.clock.advanceSeconds(31);
    emulator.delayNext(6000);
    const started = Date.now();
    const slow = await post(agent, "/login/2fa", "/login/2fa/sms/send");
    assert.ok(Date.now() - started < 7000);
    assert.equal(slow.status, 502);
    assert.match(slow.text, /did not answer in time/);
    assert.ok((await auditTypes(user.id)).includes("2fa.challenge_failed"));
  });

  test("an undelivered SMS makes the page offer the call", async () => {
    const user = await patientWithPhone("+31655555555");
    const agent = await passwordStep(user);
    await post(agent, "/login/2fa", "/login/2fa/sms/send");
    const delivery = await emulator.deliverMessageStatus(emulator.messages.at(-1)!.sid, "undelivered");
    assert.equal(delivery.status, 204);
    const page = await agent.get("/login/2fa/sms");
    assert.match(page.text, /could not be delivered/);
    assert.match(page.text, /Call me instead/);
  });
});

describe("logging in by phone call", () => {
  async function callAndWait(user: TestUser, answer: "1" | "9" | "5" | "no-answer" | "busy") {
    emulator.setCallBehaviour({ answer });
    const agent = await passwordStep(user);
    const started = await post(agent, "/login/2fa", "/login/2fa/call/start");
    assert.equal(started.headers.location, "/login/2fa/call");
    const call = emulator.calls.at(-1)!;
    assert.equal(call.to, mobile);
    assert.match(call.url, new RegExp(`^${baseUrl}/webhooks/twilio/voice/[A-Za-z0-9_-]{20,}$`));
    await emulator.waitForCall(call.sid);
    return { agent, call };
  }

  test("pressing 1 signs the browser in with a new session", async () => {
    const user = await patientWithPhone();
    const { agent, call } = await callAndWait(user, "1");
    assert.match(call.twiml ?? "", /<Gather[^>]*numDigits="1"/);
    assert.match(call.twiml ?? "", /this is Portal/);
    assert.match(call.twiml ?? "", /Press 1 to confirm your login, or press 9 if you did not try to log in/);
    assert.equal(call.gatherResponse?.status, 200);
    assert.deepEqual(await (await agent.get("/login/2fa/call/status")).body, { state: "approved" });
    const done = await post(agent, "/login/2fa/call", "/login/2fa/call/continue");
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, "/");
    assert.equal((await agent.get("/patient")).status, 200);
  });

  test("pressing 9 refuses the login, audits it and tells the user to contact the practice", async () => {
    const user = await patientWithPhone();
    const { agent } = await callAndWait(user, "9");
    const page = await agent.get("/login/2fa/call");
    assert.match(page.text, /refused from your phone/);
    assert.match(page.text, /[Cc]ontact the practice/);
    const next = await post(agent, "/login/2fa/call", "/login/2fa/call/continue");
    assert.equal(next.headers.location, "/login");
    assert.equal((await agent.get("/patient")).headers.location, "/login?ended=1");
    assert.ok((await auditTypes(user.id)).includes("2fa.call_denied"));
  });

  for (const [answer, words] of [
    ["5", /other than 1/],
    ["no-answer", /not answered/],
    ["busy", /busy/],
  ] as const) {
    test(`answer "${answer}" signs nothing in and offers to call again`, async () => {
      const user = await patientWithPhone();
      const { agent } = await callAndWait(user, answer);
      const page = await agent.get("/login/2fa/call");
      assert.match(page.text, words);
      assert.match(page.text, /Call again/);
      assert.match(page.text, /Use another method/);
      assert.equal((await post(agent, "/login/2fa/call", "/login/2fa/call/continue")).headers.location, "/login/2fa/call");
      assert.equal((await agent.get("/patient")).headers.location, "/login/2fa");
    });
  }

  test("after 2 minutes without an answer the call counts as not answered", async () => {
    const { agent, token } = await startRingingCall();
    t.clock.advanceMinutes(2);
    assert.match((await agent.get("/login/2fa/call")).text, /no answer within 2 minutes/);
    assert.equal(await t.services.phone.answerCall(token, "1", { ip: undefined, userAgent: undefined }), "not-pending");
  });
});

describe("webhooks", () => {
  test("a forged, missing or replayed signature is refused or has no effect", async () => {
    const { agent, token } = await startRingingCall();
    const path = `/webhooks/twilio/gather/${token}`;
    const params = { CallSid: "CA123", Digits: "1" };

    const missing = await request(t.app).post(path).type("form").send(params);
    assert.equal(missing.status, 403);
    const forged = await request(t.app)
      .post(path)
      .set("X-Twilio-Signature", signTwilioRequest("wrong-token", `${baseUrl}${path}`, params))
      .type("form")
      .send(params);
    assert.equal(forged.status, 403);
    // Signed over another host (a spoofed Host header must not help).
    const otherHost = await request(t.app)
      .post(path)
      .set("Host", "evil.example")
      .set("X-Twilio-Signature", signTwilioRequest(authToken, `http://evil.example${path}`, params))
      .type("form")
      .send(params);
    assert.equal(otherHost.status, 403);
    assert.deepEqual((await agent.get("/login/2fa/call/status")).body, { state: "calling" }, "nothing changed");

    const signature = signTwilioRequest(authToken, `${baseUrl}${path}`, params);
    const valid = await request(t.app).post(path).set("X-Twilio-Signature", signature).type("form").send(params);
    assert.equal(valid.status, 200);
    assert.match(valid.text, /login is confirmed/);
    const replay = await request(t.app)
      .post(path)
      .set("X-Twilio-Signature", signature)
      .type("form")
      .send({ ...params });
    assert.equal(replay.status, 200);
    assert.match(replay.text, /no longer valid/);
    const nine = { CallSid: "CA123", Digits: "9" };
    await request(t.app)
      .post(path)
      .set("X-Twilio-Signature", signTwilioRequest(authToken, `${baseUrl}${path}`, nine))
      .type("form")
      .send(nine);
    assert.deepEqual((await agent.get("/login/2fa/call/status")).body, { state: "approved" }, "a later 9 does not undo it");
    assert.equal((await post(agent, "/login/2fa/call", "/login/2fa/call/continue")).headers.location, "/");
  });

  test("webhooks need no CSRF token; every other POST still does", async () => {
    const params = { MessageStatus: "delivered", MessageSid: "SM1" };
    const path = "/webhooks/twilio/message-status/unknown-token";
    const signed = await request(t.app)
      .post(path)
      .set("X-Twilio-Signature", signTwilioRequest(authToken, `${baseUrl}${path}`, params))
      .type("form")
      .send(params);
    assert.equal(signed.status, 204);
    assert.equal((await request(t.app).post("/login").type("form").send({ email: "a@b.test", password: "x" })).status, 403);
  });
});

describe("the development outbox", () => {
  test("records SMS and lets a person answer a call with 1 through the same code path", async () => {
    const outboxApp = await startTestApp({ database, env: { PHONE_GATEWAY: "outbox" } });
    const user = await outboxApp.createUser("patient");
    await database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())", [
      user.id,
      "+31677777777",
    ]);
    const { agent } = await logIn(outboxApp.app, user.email, user.password);
    await post(agent, "/login/2fa", "/login/2fa/sms/send");
    const outbox = await request(outboxApp.app).get("/dev/outbox");
    assert.equal(outbox.status, 200);
    assert.match(outbox.text, /Your Portal code is \d{6}/);

    await post(agent, "/login/2fa", "/login/2fa/call/start");
    const viewer = request.agent(outboxApp.app);
    const page = await viewer.get("/dev/outbox");
    const action = page.text.match(/action="(\/dev\/outbox\/calls\/\d+)"/)![1]!;
    const pressed = await viewer
      .post(action)
      .type("form")
      .send({ answer: "1", _csrf: csrfFrom(page.text) });
    assert.equal(pressed.status, 303);
    assert.deepEqual((await agent.get("/login/2fa/call/status")).body, { state: "approved" });
    assert.equal((await post(agent, "/login/2fa/call", "/login/2fa/call/continue")).headers.location, "/");
    assert.match((await viewer.get("/dev/outbox")).text, /answered-1/);
  });

  test("does not exist with the Twilio gateway", async () => {
    assert.equal((await request(t.app).get("/dev/outbox")).status, 404);
  });
});
