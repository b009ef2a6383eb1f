import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import request from "supertest";
import { findTotpStep, generateTotpCode, timeStepAt } from "../../src/methods/app/totp-codes.js";
import {
  assertBurstChecksTen,
  csrfFrom,
  logIn,
  newRecoveryCodesPage,
  postCodesAtOnce,
  sessionCookieOf,
  startTestApp,
  submitForm,
  type TestApp,
  type TestUser,
} from "../support/app.js";

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

const secretOf = (html: string) =>
  html.match(/<code class="secret" id="secret">([A-Z2-7 ]+)<\/code>/)?.[1]?.replace(/\s+/g, "") ?? "";
const codesOf = (html: string) =>
  [...html.matchAll(/<li>([a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5})<\/li>/g)].map((match) => match[1]!);

async function auditTypes(userId: number): Promise<string[]> {
  return (await t.services.audit.listEventsForUser(userId, 100)).map((event) => event.type);
}

/** A patient who enrols an app through the pages; returns the agent, secret and recovery codes. */
async function enrolThroughPages(user: TestUser) {
  const { agent } = await logIn(t.app, user.email, user.password);
  const page = await agent.get("/account/2fa/app");
  assert.equal(page.status, 200);
  const secret = secretOf(page.text);
  const done = await agent
    .post("/account/2fa/app")
    .type("form")
    .send({ code: await generateTotpCode(secret, t.clock.now()), _csrf: csrfFrom(page.text) });
  return { agent, secret, codes: codesOf((await newRecoveryCodesPage(agent, done)).text) };
}

async function countEvents(userId: number, type: string): Promise<number> {
  const { rows } = await t.database.db.query(
    "SELECT count(*)::int AS n FROM audit_events WHERE subject_user_id = $1 AND event_type = $2",
    [userId, type],
  );
  return Number(rows[0]!.n);
}

async function passwordStep(user: TestUser) {
  const { agent, response } = await logIn(t.app, user.email, user.password);
  assert.equal(response.headers.location, "/login/2fa");
  return agent;
}

/** Sends the confirmation page's form with the password and a code from the app. */
async function confirmWithApp(
  agent: request.Agent,
  confirmPage: string,
  { user, secret, next, action }: { user: TestUser; secret: string; next: string; action?: string },
) {
  return agent
    .post("/account/confirm")
    .type("form")
    .send({
      password: user.password,
      method: "app",
      code: await generateTotpCode(secret, t.clock.now()),
      next,
      action,
      _csrf: csrfFrom(confirmPage),
    });
}

async function sendCode(agent: request.Agent, path: string, code: string) {
  const page = await agent.get(path);
  return agent
    .post(path)
    .type("form")
    .send({ code, _csrf: csrfFrom(page.text) });
}

describe("enrolment", () => {
  test("the page shows a QR code, the secret in groups of four, an otpauth link and a code field", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const page = await agent.get("/account/2fa/app");
    assert.match(page.text, /<img src="data:image\/png;base64,[^"]+" width="220" height="220" alt="QR code/);
    assert.match(page.text, /<code class="secret" id="secret">([A-Z2-7]{4} ){7}[A-Z2-7]{4}<\/code>/);
    const secret = secretOf(page.text);
    assert.equal(secret.length, 32, "160 bits in base32");
    const link = page.text.match(/href="(otpauth:\/\/totp\/[^"]+)"/)![1]!.replaceAll("&amp;", "&");
    const uri = new URL(link);
    assert.equal(uri.searchParams.get("secret"), secret);
    assert.equal(uri.searchParams.get("issuer"), "Portal");
    assert.match(decodeURIComponent(uri.pathname), new RegExp(user.email.replace(".", "\\.")));
    assert.match(page.text, /<label for="code">/);

    const reloaded = await agent.get("/account/2fa/app");
    assert.equal(secretOf(reloaded.text), secret, "a reload keeps the pending secret");
    const replaced = await agent
      .post("/account/2fa/app/new")
      .type("form")
      .send({ _csrf: csrfFrom(page.text) });
    assert.notEqual(secretOf(replaced.text), secret, "a new QR code replaces the secret");
    const { rows } = await t.database.db.query("SELECT secret_box FROM totp_enrolments WHERE user_id = $1", [user.id]);
    assert.equal(rows.length, 1);
    assert.doesNotMatch(String(rows[0]!.secret_box), new RegExp(secret), "stored encrypted");
  });

  test("a wrong code keeps the factor inactive; the right one activates it and shows 10 recovery codes", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const page = await agent.get("/account/2fa/app");
    const secret = secretOf(page.text);
    const wrong = await agent
      .post("/account/2fa/app")
      .type("form")
      .send({ code: "000000", _csrf: csrfFrom(page.text) });
    assert.equal(wrong.status, 400);
    assert.match(wrong.text, /not right/);
    assert.equal(await t.services.twoFactor.hasSecondFactor(user.id), false);
    assert.equal(secretOf(wrong.text), secret, "the same QR code stays");

    const right = await agent
      .post("/account/2fa/app")
      .type("form")
      .send({ code: await generateTotpCode(secret, t.clock.now()), _csrf: csrfFrom(page.text) });
    const shown = await newRecoveryCodesPage(agent, right);
    const codes = codesOf(shown.text);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.match(shown.text, /download="recovery-codes.txt"/);
    const stored = await t.database.db.query<{ sess: string }>("SELECT sess::text AS sess FROM session");
    for (const code of codes) {
      assert.ok(!stored.rows.some((row) => row.sess.includes(code)), "new recovery codes are kept in the session only encrypted");
    }
    assert.match(shown.text, /I have saved these codes/);
    assert.equal(await t.services.twoFactor.hasSecondFactor(user.id), true);
    const types = await auditTypes(user.id);
    assert.ok(types.includes("2fa.enrolment_started"));
    assert.ok(types.includes("2fa.enrolment_completed"));
    assert.ok(types.includes("2fa.code_refused"));
    const security = await agent.get("/account/security");
    assert.match(security.text, /10 left/);
  });

  test("the pending secret expires after 15 minutes", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const page = await agent.get("/account/2fa/app");
    const secret = secretOf(page.text);
    t.clock.advanceMinutes(14);
    await agent.get("/patient"); // stay active
    t.clock.advanceMinutes(2);
    // Enrolling is a security change: after 5 minutes the password is asked again.
    const confirm = await submitForm(agent, "/account/confirm", "/account/confirm", {
      password: user.password,
      next: "/account/2fa/app",
    });
    assert.equal(confirm.headers.location, "/account/2fa/app");
    const late = await agent
      .post("/account/2fa/app")
      .type("form")
      .send({ code: await generateTotpCode(secret, t.clock.now()), _csrf: csrfFrom(page.text) });
    assert.equal(late.status, 400);
    assert.match(late.text, /expired/);
    assert.notEqual(secretOf(late.text), secret, "a new QR code is shown");
    assert.equal(await t.services.twoFactor.hasSecondFactor(user.id), false);
  });
});

describe("logging in with the app", () => {
  test("password → method choice → app code → signed in with a new session id", async () => {
    const user = await t.createUser("patient");
    const { secret } = await enrolThroughPages(user);
    t.clock.advanceSeconds(30);
    const agent = await passwordStep(user);
    const choose = await agent.get("/login/2fa");
    assert.match(choose.text, /With an authenticator app/);
    assert.match(choose.text, /Use a recovery code/);
    assert.doesNotMatch(choose.text, /By SMS/, "only the methods this user has");
    const before = sessionCookieOf(choose) ?? "";
    // Signed-in pages refuse a session that passed only the password.
    for (const path of ["/patient", "/account/security", "/"]) {
      assert.equal((await agent.get(path)).headers.location, "/login/2fa", path);
    }
    const page = await agent.get("/login/2fa/app");
    const response = await agent
      .post("/login/2fa/app")
      .type("form")
      .send({ code: await generateTotpCode(secret, t.clock.now()), _csrf: csrfFrom(page.text) });
    assert.equal(response.status, 303);
    assert.equal(response.headers.location, "/");
    const after = sessionCookieOf(response);
    assert.ok(after && after !== before, "a new session id after the second factor");
    assert.equal((await agent.get("/patient")).status, 200);
    const types = await auditTypes(user.id);
    assert.ok(types.includes("2fa.code_accepted"));
    assert.ok(types.includes("login.succeeded"));
  });

  test("a code already used is refused (replay) without costing a try; the next step's code works", async () => {
    const user = await t.createUser("patient");
    const { secret } = await enrolThroughPages(user);
    t.clock.advanceSeconds(30);
    const code = await generateTotpCode(secret, t.clock.now());
    const first = await passwordStep(user);
    assert.equal((await sendCode(first, "/login/2fa/app", code)).status, 303);
    await first
      .post("/logout")
      .type("form")
      .send({ _csrf: csrfFrom((await first.get("/patient")).text) });
    // Logged in again while the app still shows the same code: more often than a login allows wrong codes.
    const second = await passwordStep(user);
    for (let i = 0; i < 6; i += 1) {
      const replay = await sendCode(second, "/login/2fa/app", code);
      assert.equal(replay.status, 400);
      assert.match(replay.text, /This code was just used\. Wait for the next code in your app\./);
      assert.doesNotMatch(replay.text, /not right|tr(y|ies) left/);
    }
    assert.equal(await countEvents(user.id, "2fa.code_refused"), 0, "no replay counted as a wrong guess");
    t.clock.advanceSeconds(30);
    assert.equal((await sendCode(second, "/login/2fa/app", await generateTotpCode(secret, t.clock.now()))).status, 303);
  });

  test("one step back and forward are accepted, two steps off refused", async () => {
    const user = await t.createUser("patient");
    const secret = await t.enrolApp(user);
    const method = t.services.totp.method;
    const now = t.clock.now();
    const at = (steps: number) => new Date(now.getTime() + steps * 30_000);
    // Move far ahead so that earlier steps are not at or before the last used one.
    t.clock.advanceMinutes(10);
    const base = t.clock.now();
    const stepsFrom = (steps: number) => new Date(base.getTime() + steps * 30_000);
    assert.equal(
      await method.verifyResponse({ userId: user.id, attemptId: "", response: await generateTotpCode(secret, stepsFrom(-2)) }),
      "wrong",
    );
    assert.equal(
      await method.verifyResponse({ userId: user.id, attemptId: "", response: await generateTotpCode(secret, stepsFrom(-1)) }),
      "right",
    );
    assert.equal(
      await method.verifyResponse({ userId: user.id, attemptId: "", response: await generateTotpCode(secret, stepsFrom(1)) }),
      "right",
    );
    assert.equal(
      await method.verifyResponse({ userId: user.id, attemptId: "", response: await generateTotpCode(secret, stepsFrom(3)) }),
      "wrong",
    );
    assert.equal(await findTotpStep(secret, await generateTotpCode(secret, at(0)), now), timeStepAt(now));
  });

  test("two parallel requests with the same valid code: exactly one succeeds", async () => {
    const user = await t.createUser("patient");
    const secret = await t.enrolApp(user);
    t.clock.advanceSeconds(30);
    const code = await generateTotpCode(secret, t.clock.now());
    const agents = [await passwordStep(user), await passwordStep(user)];
    const pages = await Promise.all(agents.map((agent) => agent.get("/login/2fa/app")));
    const responses = await Promise.all(
      agents.map((agent, i) =>
        agent
          .post("/login/2fa/app")
          .type("form")
          .send({ code, _csrf: csrfFrom(pages[i]!.text) }),
      ),
    );
    assert.deepEqual(responses.map((response) => response.status).sort(), [303, 400]);
  });

  test("a tampered secret ciphertext is refused (fails closed)", async () => {
    const user = await t.createUser("patient");
    const secret = await t.enrolApp(user);
    const { rows } = await t.database.db.query("SELECT secret_box FROM totp_factors WHERE user_id = $1", [user.id]);
    const box = String(rows[0]!.secret_box);
    // The first character of the ciphertext (the last part): all its bits count, unlike a last one.
    const start = box.lastIndexOf(":") + 1;
    const tampered = box.slice(0, start) + (box[start] === "A" ? "B" : "A") + box.slice(start + 1);
    assert.notEqual(tampered, box);
    await t.database.db.query("UPDATE totp_factors SET secret_box = $2 WHERE user_id = $1", [user.id, tampered]);
    t.clock.advanceSeconds(30);
    const agent = await passwordStep(user);
    const response = await sendCode(agent, "/login/2fa/app", await generateTotpCode(secret, t.clock.now()));
    assert.equal(response.status, 400);
    assert.equal((await agent.get("/patient")).headers.location, "/login/2fa");
  });
});

describe("recovery codes", () => {
  test("a recovery code works once and the page says how many remain", async () => {
    const user = await t.createUser("patient");
    const { codes } = await enrolThroughPages(user);
    const agent = await passwordStep(user);
    const response = await sendCode(agent, "/login/2fa/recovery", codes[0]!.toUpperCase().replaceAll("-", " "));
    assert.equal(response.headers.location, "/account/recovery-code-used");
    assert.match((await agent.get("/account/recovery-code-used")).text, /<strong>9<\/strong> recovery codes left/);
    assert.equal((await agent.get("/patient")).status, 200);
    const again = await passwordStep(user);
    assert.equal((await sendCode(again, "/login/2fa/recovery", codes[0]!)).status, 400);
    assert.ok((await auditTypes(user.id)).includes("2fa.recovery_code_used"));
  });

  test("in parallel, one recovery code signs in only once", async () => {
    const user = await t.createUser("patient");
    const { codes } = await enrolThroughPages(user);
    const agents = [await passwordStep(user), await passwordStep(user), await passwordStep(user)];
    const pages = await Promise.all(agents.map((agent) => agent.get("/login/2fa/recovery")));
    const responses = await Promise.all(
      agents.map((agent, i) =>
        agent
          .post("/login/2fa/recovery")
          .type("form")
          .send({ code: codes[1], _csrf: csrfFrom(pages[i]!.text) }),
      ),
    );
    assert.deepEqual(responses.map((response) => response.status).sort(), [303, 400, 400]);
  });

  test("regenerating after a fresh authentication: the confirmation creates the new set at once, and the old set dies", async () => {
    const user = await t.createUser("patient");
    const { agent, codes, secret } = await enrolThroughPages(user);
    t.clock.advanceMinutes(6);
    await agent.get("/patient");
    const stale = await submitForm(agent, "/account/recovery-codes", "/account/recovery-codes", {});
    assert.equal(stale.status, 303);
    assert.match(stale.headers.location!, /^\/account\/confirm\?next=%2Faccount%2Frecovery-codes&action=/);
    const confirmPage = await agent.get(stale.headers.location!);
    assert.match(confirmPage.text, /To create a new set of recovery codes, please confirm/, "the page says what it will finish");
    const action = confirmPage.text.match(/name="action" value="([^"]+)"/)?.[1];
    assert.ok(action);
    // The step-up page: the password field first, the code field fit for one-time codes.
    assert.match(confirmPage.text, /<input id="password"[^>]* autofocus/);
    assert.match(confirmPage.text, /<input id="code"[^>]* autocomplete="one-time-code" inputmode="numeric"/);
    const confirmed = await confirmWithApp(agent, confirmPage.text, { user, secret, next: "/account/recovery-codes", action });
    const shown = await newRecoveryCodesPage(agent, confirmed);
    const newCodes = codesOf(shown.text);
    assert.equal(newCodes.length, 10, "the new codes, without pressing the button again");
    assert.equal((await agent.get("/account/recovery-codes/new")).text.includes(newCodes[0]!), true, "a reload shows them again");
    const login = await passwordStep(user);
    assert.equal((await sendCode(login, "/login/2fa/recovery", codes[2]!)).status, 400, "an old code is dead");
    assert.equal((await sendCode(login, "/login/2fa/recovery", newCodes[0]!)).status, 303);
    assert.ok((await auditTypes(user.id)).includes("2fa.recovery_codes_regenerated"));
    // Once saved, the codes are not shown again.
    const saved = await submitForm(agent, "/account/recovery-codes/new", "/account/recovery-codes/saved", { saved: "yes" });
    assert.equal(saved.headers.location, "/account/security");
    assert.equal((await agent.get("/account/recovery-codes/new")).headers.location, "/account/recovery-codes");
  });

  test("a confirmation started for something else does not finish an older action", async () => {
    const user = await t.createUser("patient");
    const { agent, secret } = await enrolThroughPages(user);
    t.clock.advanceMinutes(6);
    await submitForm(agent, "/account/recovery-codes", "/account/recovery-codes", {});
    // The user walks away from that confirmation and opens the app page, which asks again.
    const other = await agent.get("/account/2fa/app");
    assert.equal(other.headers.location, "/account/confirm?next=%2Faccount%2F2fa%2Fapp");
    const confirmPage = await agent.get(other.headers.location!);
    assert.doesNotMatch(confirmPage.text, /name="action"/);
    const confirmed = await confirmWithApp(agent, confirmPage.text, { user, secret, next: "/account/2fa/app" });
    assert.equal(confirmed.headers.location, "/account/2fa/app");
    assert.ok(!(await auditTypes(user.id)).includes("2fa.recovery_codes_regenerated"), "no new codes were made");
  });
});

describe("wrong codes", () => {
  test("5 wrong codes void the attempt; back to the password step", async () => {
    const user = await t.createUser("patient");
    await t.enrolApp(user);
    const agent = await passwordStep(user);
    for (let i = 1; i <= 4; i += 1) {
      const response = await sendCode(agent, "/login/2fa/app", "000000");
      assert.equal(response.status, 400);
      assert.match(response.text, new RegExp(`${5 - i} tr(y|ies) left`));
    }
    const fifth = await sendCode(agent, "/login/2fa/app", "000000");
    assert.equal(fifth.status, 303);
    assert.equal(fifth.headers.location, "/login");
    const login = await agent.get("/login");
    assert.match(login.text, /Too many wrong codes/);
    assert.equal((await agent.get("/login/2fa")).headers.location, "/login");
    assert.ok((await auditTypes(user.id)).includes("2fa.attempt_voided"));
  });

  test("10 consecutive wrong codes lock two-step login for 15 minutes, saying until when", async () => {
    const user = await t.createUser("patient");
    const secret = await t.enrolApp(user);
    for (let round = 0; round < 2; round += 1) {
      const agent = await passwordStep(user);
      for (let i = 0; i < 5; i += 1) {
        const response = await sendCode(agent, "/login/2fa/app", "999999");
        if (round === 1 && i === 4) {
          assert.equal(response.status, 429);
          assert.match(response.text, /locked/);
          assert.match(response.text, /locked until <time/);
        }
      }
    }
    const agent = await passwordStep(user);
    t.clock.advanceSeconds(30);
    const locked = await sendCode(agent, "/login/2fa/app", await generateTotpCode(secret, t.clock.now()));
    assert.equal(locked.status, 429, "even the right code is refused while locked");
    assert.ok((await auditTypes(user.id)).includes("2fa.locked"));
    t.clock.advanceMinutes(15);
    const later = await passwordStep(user);
    assert.equal((await sendCode(later, "/login/2fa/app", await generateTotpCode(secret, t.clock.now()))).status, 303);
  });
});

describe("format mistakes", () => {
  const notSixDigits = ["abcdef", "12345", "1234567", "12a456", "123.456", "12 345"];

  test("a login code that is not 6 digits is answered first and costs no try; spaces and dashes are fine", async () => {
    const user = await t.createUser("patient");
    const { secret, codes } = await enrolThroughPages(user);
    t.clock.advanceSeconds(30);
    const agent = await passwordStep(user);
    for (const typed of notSixDigits) {
      const response = await sendCode(agent, "/login/2fa/app", typed);
      assert.equal(response.status, 400, typed);
      assert.match(response.text, /Enter the 6 digits from your app/, typed);
      assert.doesNotMatch(response.text, /not right|tr(y|ies) left/, typed);
    }
    for (const typed of ["abc", "abcde-fghjk", "7kq2m-xw9ad-h3fn"]) {
      const response = await sendCode(agent, "/login/2fa/recovery", typed);
      assert.equal(response.status, 400, typed);
      assert.match(response.text, /Enter a recovery code as it is written: 15 letters and digits/, typed);
    }
    assert.equal(await countEvents(user.id, "2fa.code_refused"), 0, "nothing was counted");
    const code = await generateTotpCode(secret, t.clock.now());
    const spaced = await sendCode(agent, "/login/2fa/app", ` ${code.slice(0, 3)} - ${code.slice(3)} `);
    assert.equal(spaced.headers.location, "/", "the attempt is still open, and the spaced code works");
    const other = await passwordStep(user);
    assert.equal((await sendCode(other, "/login/2fa/recovery", codes[0]!.replaceAll("-", " – "))).status, 303);
  });

  test("an enrolment or step-up code that is not 6 digits is answered without a try", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const page = await agent.get("/account/2fa/app");
    const secret = secretOf(page.text);
    for (const typed of notSixDigits) {
      const response = await agent
        .post("/account/2fa/app")
        .type("form")
        .send({ code: typed, _csrf: csrfFrom(page.text) });
      assert.equal(response.status, 400, typed);
      assert.match(response.text, /Enter the 6 digits from your app/, typed);
    }
    const code = await generateTotpCode(secret, t.clock.now());
    const enrolled = await agent
      .post("/account/2fa/app")
      .type("form")
      .send({ code: `${code.slice(0, 3)}-${code.slice(3)}`, _csrf: csrfFrom(page.text) });
    assert.equal(codesOf((await newRecoveryCodesPage(agent, enrolled)).text).length, 10, "a dashed code enrols the app");

    t.clock.advanceMinutes(6);
    for (const typed of notSixDigits) {
      const confirmPage = await agent.get("/account/confirm?next=/account/recovery-codes");
      const response = await agent
        .post("/account/confirm")
        .type("form")
        .send({ password: user.password, method: "app", code: typed, _csrf: csrfFrom(confirmPage.text) });
      assert.equal(response.status, 400, typed);
      assert.match(response.text, /Enter the 6 digits from your app/, typed);
    }
    assert.equal(await countEvents(user.id, "2fa.code_refused"), 0, "nothing was counted");
    const { rows } = await t.database.db.query("SELECT second_factor_failures AS n FROM users WHERE id = $1", [user.id]);
    assert.equal(Number(rows[0]!.n), 0);
  });
});

describe("patients and their choice", () => {
  test("a patient without a factor is invited on a dismissable banner", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const home = await agent.get("/patient");
    assert.match(home.text, /Protect your account with two-step login/);
    const dismissed = await agent
      .post("/account/2fa/invitation/dismiss")
      .type("form")
      .send({ _csrf: csrfFrom(home.text) });
    assert.equal(dismissed.status, 303);
    assert.doesNotMatch((await agent.get("/patient")).text, /Protect your account/);
  });

  test("a patient removes the app after a fresh authentication; the codes go with it", async () => {
    const user = await t.createUser("patient");
    const { agent } = await enrolThroughPages(user);
    const security = await agent.get("/account/security");
    assert.match(security.text, /action="\/account\/2fa\/app\/remove"/);
    const removed = await agent
      .post("/account/2fa/app/remove")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.equal(removed.headers.location, "/account/security");
    assert.equal(await t.services.twoFactor.hasSecondFactor(user.id), false);
    assert.equal(await t.services.recoveryCodes.countRemainingCodes(user.id), 0);
    assert.ok((await auditTypes(user.id)).includes("2fa.removed"));
    const { response } = await logIn(t.app, user.email, user.password);
    assert.equal(response.headers.location, "/", "no second step any more");
  });

  test("after 5 minutes, removing asks for the password and code again", async () => {
    const user = await t.createUser("patient");
    const { agent } = await enrolThroughPages(user);
    t.clock.advanceMinutes(6);
    const security = await agent.get("/account/security");
    const removed = await agent
      .post("/account/2fa/app/remove")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.match(removed.headers.location!, /^\/account\/confirm/);
    assert.equal(await t.services.twoFactor.hasSecondFactor(user.id), true);
  });
});

describe("doctors", () => {
  test("a doctor who must enrol lands where they were going once the recovery codes are saved, not on the settings", async () => {
    const doctor = await t.createUser("doctor", { withApp: false });
    for (const [next, landing] of [
      ["", "/"],
      ["/doctor/patients/1", "/doctor/patients/1"],
    ] as const) {
      const agent = request.agent(t.app);
      const login = await agent.get(`/login${next ? `?next=${encodeURIComponent(next)}` : ""}`);
      const response = await agent
        .post("/login")
        .type("form")
        .send({ email: doctor.email, password: doctor.password, next, _csrf: csrfFrom(login.text) });
      assert.equal(response.headers.location, "/enrol");
      const page = await agent.get("/enrol/app");
      t.clock.advanceSeconds(30);
      const done = await agent
        .post("/enrol/app")
        .type("form")
        .send({ code: await generateTotpCode(secretOf(page.text), t.clock.now()), _csrf: csrfFrom(page.text) });
      const codes = await newRecoveryCodesPage(agent, done);
      const saved = await agent
        .post("/account/recovery-codes/saved")
        .type("form")
        .send({ saved: "yes", _csrf: csrfFrom(codes.text) });
      assert.equal(saved.headers.location, landing);
      if (landing === "/") assert.equal((await agent.get("/")).headers.location, "/doctor", "their patients");
      const home = await agent.get("/doctor");
      assert.match(home.text, /Two-step login is on/, "the doctor's page confirms it");
      assert.match(home.text, /Add your phone as a back-up/, "and suggests a second method");
      await t.database.db.query("DELETE FROM totp_factors WHERE user_id = $1", [doctor.id]);
      await t.database.db.query("DELETE FROM recovery_codes WHERE user_id = $1", [doctor.id]);
    }
  });

  test("a doctor without a factor can reach only enrolment and logout, then their patients", async () => {
    const doctor = await t.createUser("doctor", { withApp: false });
    const { agent, response } = await logIn(t.app, doctor.email, doctor.password);
    assert.equal(response.headers.location, "/enrol");
    for (const path of ["/", "/doctor", "/account/security", "/account/2fa/app", "/admin", "/patient"]) {
      const page = await agent.get(path);
      assert.ok([302, 303].includes(page.status) && page.headers.location === "/enrol", `${path} → ${page.headers.location}`);
    }
    const enrol = await agent.get("/enrol");
    assert.match(enrol.text, /can see data of several patients/);
    const page = await agent.get("/enrol/app");
    const secret = secretOf(page.text);
    const done = await agent
      .post("/enrol/app")
      .type("form")
      .send({ code: await generateTotpCode(secret, t.clock.now()), _csrf: csrfFrom(page.text) });
    assert.ok(sessionCookieOf(done), "a new session id once enrolment is complete");
    assert.equal(codesOf((await newRecoveryCodesPage(agent, done)).text).length, 10);
    assert.equal((await agent.get("/doctor")).status, 200);
  });

  test("a doctor cannot remove their last factor", async () => {
    const doctor = await t.createUser("doctor");
    const { agent } = await t.logIn(doctor);
    const security = await agent.get("/account/security");
    assert.doesNotMatch(security.text, /action="\/account\/2fa\/app\/remove"/);
    const refused = await agent
      .post("/account/2fa/app/remove")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.equal(refused.status, 403);
    assert.equal(await t.services.twoFactor.hasSecondFactor(doctor.id), true);
  });
});

test("a signed-out visitor cannot reach the second step pages", async () => {
  for (const path of ["/login/2fa", "/login/2fa/app", "/login/2fa/recovery", "/enrol", "/enrol/app"]) {
    assert.equal((await request(t.app).get(path)).headers.location, "/login", path);
  }
});

describe("guesses sent in parallel", () => {
  test("a burst of wrong codes on one login checks no more than 5", async () => {
    const user = await t.createUser("patient");
    await t.enrolApp(user);
    const agent = await passwordStep(user);
    const page = await agent.get("/login/2fa/app");
    const csrf = csrfFrom(page.text);
    const guesses = Array.from({ length: 20 }, (_, i) => String(100000 + i));
    await postCodesAtOnce(agent, "/login/2fa/app", csrf, guesses);
    assert.equal(await countEvents(user.id, "2fa.code_refused"), 5);
    assert.equal((await agent.get("/login/2fa")).headers.location, "/login", "the attempt is void");
  });

  test("a burst of 60 codes on app enrolment checks no more than 10, then the lock holds", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const page = await agent.get("/account/2fa/app");
    const secret = secretOf(page.text);
    const right = await generateTotpCode(secret, t.clock.now());
    await assertBurstChecksTen(t, { agent, userId: user.id, action: "/account/2fa/app", csrf: csrfFrom(page.text), right });
    assert.equal(await t.services.twoFactor.hasSecondFactor(user.id), false);
  });

  test("bursts over several logins check no more than 10 codes before the lock", async () => {
    const user = await t.createUser("patient");
    const secret = await t.enrolApp(user);
    const agents = [await passwordStep(user), await passwordStep(user), await passwordStep(user), await passwordStep(user)];
    const pages = await Promise.all(agents.map((agent) => agent.get("/login/2fa/app")));
    await Promise.all(
      agents.flatMap((agent, a) =>
        Array.from({ length: 5 }, (_, i) =>
          agent
            .post("/login/2fa/app")
            .type("form")
            .send({ code: String(200000 + a * 10 + i), _csrf: csrfFrom(pages[a]!.text) }),
        ),
      ),
    );
    assert.equal(await countEvents(user.id, "2fa.code_refused"), 10);
    assert.ok(await t.services.twoFactor.findLockedUntil(user.id), "two-step login is locked");
    t.clock.advanceSeconds(30);
    const fresh = await passwordStep(user);
    assert.equal((await sendCode(fresh, "/login/2fa/app", await generateTotpCode(secret, t.clock.now()))).status, 429);
  });
});
