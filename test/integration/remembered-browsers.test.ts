import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import request from "supertest";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { noRequestContext } from "../../src/services/audit.js";
import { csrfFrom, startTestApp, type TestApp, type TestUser } from "../support/app.js";

// "Don't ask again on this browser": a browser that passed the second step with the box ticked
// skips it at the next logins of that user (the password is still asked), until it is forgotten.

const chromeOnWindows =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const firefoxOnLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
const cookieName = "portal.remember";
const checkboxText = /Don(’|'|&#39;)t ask again on this browser for 30 days/;

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

type Browser = request.Agent;

function openBrowser(userAgent = chromeOnWindows, app: TestApp["app"] = t.app): Browser {
  const agent = request.agent(app);
  agent.set("User-Agent", userAgent);
  return agent;
}

/** The remember cookie a response sets, as "name=value", when it sets one. */
function rememberCookieSetBy(response: request.Response): string | undefined {
  const cookies = ([] as string[]).concat(response.headers["set-cookie"] ?? []);
  return cookies.find((cookie) => cookie.startsWith(`${cookieName}=`));
}

interface CookieJar {
  setCookie(cookie: string, domain: string, path: string): unknown;
  getCookie(name: string, access: object): { value: string } | undefined;
}
const jarOf = (browser: Browser) => (browser as unknown as { jar: CookieJar }).jar;

/** Puts a cookie into a browser, as someone copying it from another browser would. */
function plantCookie(browser: Browser, nameValue: string) {
  jarOf(browser).setCookie(`${nameValue}; Path=/`, "127.0.0.1", "/");
}

/** The remember cookie the browser holds now, as "name=value". */
function rememberCookieIn(browser: Browser): string {
  const cookie = jarOf(browser).getCookie(cookieName, { domain: "127.0.0.1", path: "/", secure: false, script: false });
  assert.ok(cookie, "the browser holds a remember cookie");
  return `${cookieName}=${cookie.value}`;
}

async function enterPassword(browser: Browser, user: TestUser) {
  const page = await browser.get("/login");
  return browser
    .post("/login")
    .type("form")
    .send({ email: user.email, password: user.password, _csrf: csrfFrom(page.text) });
}

/** Answers the app step; ticks "don't ask again" when asked to. */
async function passAppStep(browser: Browser, user: TestUser, remember: boolean) {
  t.clock.advanceSeconds(30);
  const page = await browser.get("/login/2fa/app");
  const code = await generateTotpCode(user.totpSecret!, t.clock.now());
  const response = await browser
    .post("/login/2fa/app")
    .type("form")
    .send({ code, _csrf: csrfFrom(page.text), ...(remember ? { remember_browser: "yes" } : {}) });
  return { page, response };
}

async function logOut(browser: Browser) {
  const page = await browser.get("/account/security");
  return browser
    .post("/logout")
    .type("form")
    .send({ _csrf: csrfFrom(page.text) });
}

/** A full login that ticks the box, then a logout: the browser is remembered for the user. */
async function rememberBrowser(browser: Browser, user: TestUser) {
  assert.equal((await enterPassword(browser, user)).headers.location, "/login/2fa");
  const { response } = await passAppStep(browser, user, true);
  assert.equal(response.headers.location, "/", "the second step passed");
  const cookie = rememberCookieSetBy(response);
  assert.ok(cookie, "the browser got a remember cookie");
  await logOut(browser);
  return cookie;
}

/** Where the password step leads: "/" when the browser is remembered, "/login/2fa" otherwise. */
async function whereThePasswordLeads(browser: Browser, user: TestUser): Promise<string | undefined> {
  const response = await enterPassword(browser, user);
  const location = response.headers.location;
  if (location === "/") await logOut(browser);
  return location;
}

async function eventsOf(userId: number, type: string) {
  return (await t.services.audit.listEventsForUser(userId, 100)).filter((event) => event.type === type);
}

/** The newest "browser.forgotten" event of the user gives this reason (and count, when given). */
async function assertLastForgotten(userId: number, reason: string, count?: number) {
  const [event] = await eventsOf(userId, "browser.forgotten");
  assert.equal(event?.details.reason, reason);
  if (count !== undefined) assert.equal(event?.details.count, count);
  return event;
}

async function countBrowsers(userId: number): Promise<number> {
  const { rows } = await t.database.db.query("SELECT count(*)::int AS n FROM remembered_browsers WHERE user_id = $1", [userId]);
  return Number(rows[0]?.n);
}

describe("remembering a browser", () => {
  test("a patient who ticks the box logs in next time with the password only", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await enterPassword(browser, patient);
    const { page, response } = await passAppStep(browser, patient, true);
    assert.match(page.text, checkboxText, "the app page offers the checkbox");
    const cookie = rememberCookieSetBy(response) ?? "";
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\//);
    assert.match(cookie, new RegExp(`Max-Age=${30 * 24 * 60 * 60}`));
    await logOut(browser);

    t.clock.advanceMinutes(60 * 24 * 3);
    const again = await enterPassword(browser, patient);
    assert.equal(again.status, 303);
    assert.equal(again.headers.location, "/", "no second step");
    assert.equal((await browser.get("/patient")).status, 200, "signed in");

    const [login] = await eventsOf(patient.id, "login.succeeded");
    assert.equal(login?.details.method, "remembered_browser");
    assert.equal(login?.details.browser, "Chrome on Windows");
    const { rows } = await t.database.db.query(
      "SELECT description, created_at, last_used_at, expires_at FROM remembered_browsers WHERE user_id = $1",
      [patient.id],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.description, "Chrome on Windows");
    assert.deepEqual(rows[0]?.last_used_at, t.clock.now(), "last use recorded");

    const security = await browser.get("/account/security");
    assert.match(security.text, /Remembered browsers/);
    assert.match(security.text, /Chrome on Windows/);
    assert.match(security.text, /this browser/i);
    assert.match(security.text, /Logged in on a remembered browser \(Chrome on Windows\), without the second step/);
    assert.match(security.text, /Chrome on Windows remembered: no second step there for 30 days/);
  });

  test("the token is kept only as a hash", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const cookie = await rememberBrowser(openBrowser(), patient);
    const token = decodeURIComponent(cookie.split(";")[0]!.slice(cookieName.length + 1)).split(".")[1]!;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, "256 random bits");
    const { rows } = await t.database.db.query("SELECT * FROM remembered_browsers WHERE user_id = $1", [patient.id]);
    assert.doesNotMatch(JSON.stringify(rows), new RegExp(token.replace(/[-]/g, "\\-")));
  });

  test("a login without the box ticked is not remembered", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await enterPassword(browser, patient);
    const { response } = await passAppStep(browser, patient, false);
    assert.equal(rememberCookieSetBy(response), undefined);
    await logOut(browser);
    assert.equal(await whereThePasswordLeads(browser, patient), "/login/2fa");
  });

  test("every second-step page offers the checkbox, and an SMS, a call or a recovery code can tick it", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, '+31611223344', now())", [
      patient.id,
    ]);
    const codes = await t.services.recoveryCodes.regenerateRecoveryCodes(patient.id);

    // SMS
    const bySms = openBrowser();
    await enterPassword(bySms, patient);
    const choose = await bySms.get("/login/2fa");
    await bySms
      .post("/login/2fa/sms/send")
      .type("form")
      .send({ _csrf: csrfFrom(choose.text) });
    const smsPage = await bySms.get("/login/2fa/sms");
    assert.match(smsPage.text, checkboxText);
    const { rows: sms } = await t.database.db.query(
      "SELECT body FROM phone_outbox WHERE kind = 'sms' AND to_number = '+31611223344' ORDER BY id DESC LIMIT 1",
    );
    const smsCode = String(sms[0]?.body).match(/\b(\d{6})\b/)![1]!;
    const smsDone = await bySms
      .post("/login/2fa/sms")
      .type("form")
      .send({ code: smsCode, remember_browser: "yes", _csrf: csrfFrom(smsPage.text) });
    assert.equal(smsDone.headers.location, "/");
    assert.ok(rememberCookieSetBy(smsDone));
    await logOut(bySms);
    assert.equal(await whereThePasswordLeads(bySms, patient), "/");

    // Phone call, confirmed by pressing 1
    const byCall = openBrowser(firefoxOnLinux);
    await enterPassword(byCall, patient);
    const beforeCall = await byCall.get("/login/2fa/call");
    await byCall
      .post("/login/2fa/call/start")
      .type("form")
      .send({ _csrf: csrfFrom(beforeCall.text) });
    const calling = await byCall.get("/login/2fa/call");
    assert.match(calling.text, checkboxText, "the call page's continue form offers it");
    const { rows: calls } = await t.database.db.query(
      "SELECT token FROM phone_challenges WHERE user_id = $1 AND channel = 'call' ORDER BY created_at DESC LIMIT 1",
      [patient.id],
    );
    await t.services.phone.answerCall(String(calls[0]?.token), "1", noRequestContext);
    const callDone = await byCall
      .post("/login/2fa/call/continue")
      .type("form")
      .send({ remember_browser: "yes", _csrf: csrfFrom(calling.text) });
    assert.equal(callDone.headers.location, "/");
    assert.ok(rememberCookieSetBy(callDone));
    await logOut(byCall);
    assert.equal(await whereThePasswordLeads(byCall, patient), "/");

    // Recovery code
    const byRecovery = openBrowser();
    await enterPassword(byRecovery, patient);
    const recoveryPage = await byRecovery.get("/login/2fa/recovery");
    assert.match(recoveryPage.text, checkboxText);
    const recoveryDone = await byRecovery
      .post("/login/2fa/recovery")
      .type("form")
      .send({ code: codes[0]!, remember_browser: "yes", _csrf: csrfFrom(recoveryPage.text) });
    assert.equal(recoveryDone.headers.location, "/account/recovery-code-used");
    assert.ok(rememberCookieSetBy(recoveryDone));
    await logOut(byRecovery);
    assert.equal(await whereThePasswordLeads(byRecovery, patient), "/");

    assert.equal((await enterPassword(byRecovery, patient)).headers.location, "/");
    assert.match((await byRecovery.get("/account/security")).text, /Firefox on Linux/, "all three are listed");
    assert.equal(await countBrowsers(patient.id), 3);
  });

  test("one browser remembers several users without one overwriting another, and keeps at most 5", async () => {
    const patients = [];
    for (let i = 0; i < 6; i += 1) patients.push(await t.createUser("patient", { withApp: true }));
    const browser = openBrowser();
    for (const patient of patients.slice(0, 2)) await rememberBrowser(browser, patient);
    assert.equal(await whereThePasswordLeads(browser, patients[0]!), "/");
    assert.equal(await whereThePasswordLeads(browser, patients[1]!), "/");

    let cookie = "";
    for (const patient of patients.slice(2)) cookie = await rememberBrowser(browser, patient);
    const value = cookie.split(";")[0]!;
    assert.ok(value.length < 300, `the cookie stays small (${value.length} characters)`);
    assert.equal(await whereThePasswordLeads(browser, patients[0]!), "/login/2fa", "the oldest made room");
    for (const patient of patients.slice(1)) assert.equal(await whereThePasswordLeads(browser, patient), "/");
  });

  test("a logout keeps the remember cookie but ends the session cookie", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    assert.equal((await enterPassword(browser, patient)).headers.location, "/");
    const out = await logOut(browser);
    assert.notEqual(out.headers["clear-site-data"], '"cookies"', "clearing all cookies would forget the browser");
    const cleared = ([] as string[]).concat(out.headers["set-cookie"] ?? []);
    assert.ok(
      cleared.some((cookie) => cookie.startsWith("portal.sid=;") && /Expires=Thu, 01 Jan 1970/.test(cookie)),
      cleared.join("\n"),
    );
    assert.equal(rememberCookieSetBy(out), undefined, "the remember cookie is left alone");
  });
});

describe("a remembered login is not a fresh second factor", () => {
  test("a security change after a remembered login asks for the password and a code", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    assert.equal((await enterPassword(browser, patient)).headers.location, "/");
    const security = await browser.get("/account/security");
    const removal = await browser
      .post("/account/2fa/app/remove")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.match(removal.headers.location ?? "", /^\/account\/confirm/, "asked to confirm, though the login was just now");
    const confirm = await browser.get(removal.headers.location!);
    const passwordOnly = await browser
      .post("/account/confirm")
      .type("form")
      .send({ password: patient.password, next: "/account/security", _csrf: csrfFrom(confirm.text) });
    assert.equal(passwordOnly.status, 400);
    assert.match(passwordOnly.text, /Enter the code as well/);
    assert.ok(await t.services.twoFactor.hasSecondFactor(patient.id), "nothing removed");
  });
});

describe("falling back to the second step", () => {
  test("a cookie copied into another user's login does not skip their second step", async () => {
    const owner = await t.createUser("patient", { withApp: true });
    const other = await t.createUser("patient", { withApp: true });
    const cookie = await rememberBrowser(openBrowser(), owner);
    const elsewhere = openBrowser();
    plantCookie(elsewhere, cookie.split(";")[0]!);
    assert.equal(await whereThePasswordLeads(elsewhere, other), "/login/2fa");
    assert.equal(await whereThePasswordLeads(elsewhere, owner), "/", "the planted cookie itself works for its owner");
  });

  test("an expired record falls back", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    t.clock.advanceMinutes(60 * 24 * 29);
    assert.equal(await whereThePasswordLeads(browser, patient), "/", "still within 30 days");
    t.clock.advanceMinutes(60 * 24 + 1);
    assert.equal(await whereThePasswordLeads(browser, patient), "/login/2fa");
  });

  test("a tampered token falls back", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const cookie = (await rememberBrowser(openBrowser(), patient)).split(";")[0]!;
    const last = cookie.at(-1) === "A" ? "B" : "A";
    const tampered = openBrowser();
    plantCookie(tampered, `${cookie.slice(0, -1)}${last}`);
    assert.equal(await whereThePasswordLeads(tampered, patient), "/login/2fa");
    const garbage = openBrowser();
    plantCookie(garbage, `${cookieName}=${"x".repeat(3000)}`);
    assert.equal(await whereThePasswordLeads(garbage, patient), "/login/2fa");
  });

  test("a locked second step is not skipped", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    await t.database.db.query("UPDATE users SET second_factor_locked_until = $2 WHERE id = $1", [
      patient.id,
      new Date(t.clock.now().getTime() + 15 * 60_000),
    ]);
    assert.equal(await whereThePasswordLeads(browser, patient), "/login/2fa");
  });
});

describe("forgetting remembered browsers", () => {
  test("forget this browser, from the security page", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    assert.equal((await enterPassword(browser, patient)).headers.location, "/");
    const security = await browser.get("/account/security");
    const action = security.text.match(/action="(\/account\/browsers\/\d+\/forget)"/)?.[1];
    assert.ok(action, "a forget button for the browser");
    const forgotten = await browser
      .post(action)
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.equal(forgotten.headers.location, "/account/security");
    const after = await browser.get("/account/security");
    assert.match(after.text, /This browser will ask for the second step again/);
    assert.match(after.text, /Remembered browser forgotten \(Chrome on Windows\)/);
    await logOut(browser);
    assert.equal(await whereThePasswordLeads(browser, patient), "/login/2fa");
    await assertLastForgotten(patient.id, "user");
  });

  test("another user's browser cannot be forgotten by id", async () => {
    const owner = await t.createUser("patient", { withApp: true });
    const intruder = await t.createUser("patient", { withApp: true });
    await rememberBrowser(openBrowser(), owner);
    const { rows } = await t.database.db.query("SELECT id FROM remembered_browsers WHERE user_id = $1", [owner.id]);
    const browser = openBrowser();
    await rememberBrowser(browser, intruder);
    await enterPassword(browser, intruder);
    const security = await browser.get("/account/security");
    const refused = await browser
      .post(`/account/browsers/${rows[0]?.id}/forget`)
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.equal(refused.status, 404);
    assert.equal(await countBrowsers(owner.id), 1);
  });

  test("forget all browsers", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const home = openBrowser();
    const work = openBrowser(firefoxOnLinux);
    await rememberBrowser(home, patient);
    await rememberBrowser(work, patient);
    assert.equal((await enterPassword(home, patient)).headers.location, "/");
    const security = await home.get("/account/security");
    assert.match(security.text, /Firefox on Linux/);
    const done = await home
      .post("/account/browsers/forget-all")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.equal(done.headers.location, "/account/security");
    assert.match((await home.get("/account/security")).text, /All remembered browsers forgotten/);
    await logOut(home);
    assert.equal(await whereThePasswordLeads(home, patient), "/login/2fa");
    assert.equal(await whereThePasswordLeads(work, patient), "/login/2fa");
    await assertLastForgotten(patient.id, "user_all", 2);
  });

  test("a password change forgets every browser", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    await rememberBrowser(openBrowser(firefoxOnLinux), patient);
    assert.equal((await enterPassword(browser, patient)).headers.location, "/");
    // Recent enough for the change: confirm with password and code first.
    t.clock.advanceSeconds(30);
    const confirm = await browser.get("/account/confirm?next=/account/password");
    await browser
      .post("/account/confirm")
      .type("form")
      .send({
        password: patient.password,
        method: "app",
        code: await generateTotpCode(patient.totpSecret!, t.clock.now()),
        next: "/account/password",
        _csrf: csrfFrom(confirm.text),
      });
    const form = await browser.get("/account/password");
    const changed = await browser
      .post("/account/password")
      .type("form")
      .send({
        current: patient.password,
        password: "a completely new passphrase 42",
        repeat: "a completely new passphrase 42",
        _csrf: csrfFrom(form.text),
      });
    assert.equal(changed.headers.location, "/account/security");
    assert.equal(await countBrowsers(patient.id), 0);
    await assertLastForgotten(patient.id, "password_changed");
    assert.match((await browser.get("/account/security")).text, /Remembered browsers forgotten: password changed/);
    await logOut(browser);
    patient.password = "a completely new passphrase 42";
    assert.equal(await whereThePasswordLeads(browser, patient), "/login/2fa");
  });

  test("sign out everywhere else forgets the other browsers and keeps this one", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const here = openBrowser();
    const there = openBrowser(firefoxOnLinux);
    await rememberBrowser(here, patient);
    await rememberBrowser(there, patient);
    assert.equal((await enterPassword(here, patient)).headers.location, "/");
    const security = await here.get("/account/security");
    await here
      .post("/account/sessions/end-others")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.match((await here.get("/account/security")).text, /Other remembered browsers forgotten: signed out everywhere else/);
    await logOut(here);
    assert.equal(await whereThePasswordLeads(there, patient), "/login/2fa");
    assert.equal(await whereThePasswordLeads(here, patient), "/");
    await assertLastForgotten(patient.id, "signed_out_elsewhere", 1);
  });

  test("a change of the second factor forgets the other browsers and keeps this one", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const here = openBrowser();
    const there = openBrowser(firefoxOnLinux);
    await rememberBrowser(there, patient);
    // A full login here (a remembered login is never fresh enough for a change), then a new phone.
    assert.equal((await enterPassword(here, patient)).headers.location, "/login/2fa");
    assert.equal((await passAppStep(here, patient, true)).response.headers.location, "/");
    const form = await here.get("/account/2fa/phone");
    const sent = await here
      .post("/account/2fa/phone")
      .type("form")
      .send({ phone: "06 12121299", _csrf: csrfFrom(form.text) });
    assert.equal(sent.headers.location, "/account/2fa/phone/verify");
    const { rows } = await t.database.db.query<{ body: string }>(
      "SELECT body FROM phone_outbox WHERE to_number = '+31612121299' ORDER BY id DESC LIMIT 1",
    );
    const code = rows[0]?.body.match(/\b(\d{6})\b/)?.[1];
    const verifyPage = await here.get("/account/2fa/phone/verify");
    const proven = await here
      .post("/account/2fa/phone/verify")
      .type("form")
      .send({ code, _csrf: csrfFrom(verifyPage.text) });
    assert.equal(proven.status, 303);
    await assertLastForgotten(patient.id, "second_factor_changed", 1);
    await logOut(here);
    assert.equal(await whereThePasswordLeads(there, patient), "/login/2fa", "the other browser asks again");
    assert.equal(await whereThePasswordLeads(here, patient), "/", "this browser stays remembered");
  });

  test("an admin's reset of the second factor forgets every browser", async () => {
    const admin = await t.createUser("admin", { password: "a long admin password 15+" });
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    const result = await t.services.admin.resetSecondFactor(admin.id, patient.id, "Lost phone", noRequestContext);
    assert.ok(result.ok);
    assert.equal(await countBrowsers(patient.id), 0);
    assert.equal((await assertLastForgotten(patient.id, "second_factor_reset"))?.actorUserId, admin.id, "the admin did it");
    // With a new app, the old remembered browser does not skip it.
    patient.totpSecret = await t.enrolApp(patient);
    assert.equal(await whereThePasswordLeads(browser, patient), "/login/2fa");
  });

  test("a role change to a role that may not remember forgets every browser; one that may keeps them", async () => {
    const admin = await t.createUser("admin", { password: "a long admin password 15+" });
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    assert.ok((await t.services.admin.changeUserRole(admin.id, patient.id, "doctor", noRequestContext)).ok);
    assert.equal(await countBrowsers(patient.id), 0);
    await assertLastForgotten(patient.id, "role_changed");
    assert.equal(await whereThePasswordLeads(browser, patient), "/login/2fa");

    // Back to patient, remembered again, then a change that keeps the right to remember.
    assert.ok((await t.services.admin.changeUserRole(admin.id, patient.id, "patient", noRequestContext)).ok);
    const again = openBrowser();
    await rememberBrowser(again, patient);
    const custom = await startTestApp({ database: t.database, env: { REMEMBER_BROWSER_ROLES: "patient,doctor" } });
    assert.ok((await custom.services.admin.changeUserRole(admin.id, patient.id, "doctor", noRequestContext)).ok);
    assert.equal(await countBrowsers(patient.id), 1);
  });

  test("disabling the account forgets every browser", async () => {
    const admin = await t.createUser("admin", { password: "a long admin password 15+" });
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    assert.ok((await t.services.admin.disableUser(admin.id, patient.id, noRequestContext)).ok);
    assert.equal(await countBrowsers(patient.id), 0);
    await assertLastForgotten(patient.id, "account_disabled");
    assert.ok((await t.services.admin.enableUser(admin.id, patient.id, noRequestContext)).ok);
    assert.equal(await whereThePasswordLeads(browser, patient), "/login/2fa");
  });
});

describe("who may be remembered", () => {
  test("a doctor never sees the checkbox with the default setting, and cannot tick it anyway", async () => {
    const doctor = await t.createUser("doctor");
    const browser = openBrowser();
    await enterPassword(browser, doctor);
    const { page, response } = await passAppStep(browser, doctor, true);
    assert.doesNotMatch(page.text, /Don(’|'|&#39;)t ask again/);
    assert.equal(response.headers.location, "/");
    assert.equal(rememberCookieSetBy(response), undefined);
    assert.equal(await countBrowsers(doctor.id), 0);
    assert.doesNotMatch((await browser.get("/account/security")).text, /Remembered browsers/);
  });

  test("with REMEMBER_BROWSER_DAYS=0 nobody sees it, and remembered browsers stop working", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const remembered = openBrowser();
    await rememberBrowser(remembered, patient);
    const off = await startTestApp({ database: t.database, env: { REMEMBER_BROWSER_DAYS: "0" } });
    off.clock.set(t.clock.now());
    const browser = openBrowser(chromeOnWindows, off.app);
    await enterPassword(browser, patient);
    off.clock.advanceSeconds(60);
    const page = await browser.get("/login/2fa/app");
    assert.doesNotMatch(page.text, /Don(’|'|&#39;)t ask again/);
    const code = await generateTotpCode(patient.totpSecret!, off.clock.now());
    const done = await browser
      .post("/login/2fa/app")
      .type("form")
      .send({ code, remember_browser: "yes", _csrf: csrfFrom(page.text) });
    assert.equal(done.headers.location, "/");
    assert.equal(rememberCookieSetBy(done), undefined);
    assert.equal(await countBrowsers(patient.id), 1, "only the one made before");

    const replay = openBrowser(chromeOnWindows, off.app);
    plantCookie(replay, rememberCookieIn(remembered));
    assert.equal((await enterPassword(replay, patient)).headers.location, "/login/2fa");
  });

  test("REMEMBER_BROWSER_DAYS sets the offer, and a lower value shortens browsers remembered before", async () => {
    const patient = await t.createUser("patient", { withApp: true });
    const browser = openBrowser();
    await rememberBrowser(browser, patient);
    const week = await startTestApp({ database: t.database, env: { REMEMBER_BROWSER_DAYS: "7" } });
    week.clock.set(t.clock.now());
    week.clock.advanceMinutes(60 * 24 * 8);
    const other = openBrowser(chromeOnWindows, week.app);
    await enterPassword(other, patient);
    week.clock.advanceSeconds(60);
    const page = await other.get("/login/2fa/app");
    assert.match(page.text, /Don(’|'|&#39;)t ask again on this browser for 7 days/);

    const copy = openBrowser(chromeOnWindows, week.app);
    plantCookie(copy, rememberCookieIn(browser));
    assert.equal((await enterPassword(copy, patient)).headers.location, "/login/2fa", "8 days old, 7 allowed");
  });
});
