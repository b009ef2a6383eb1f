import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import request from "supertest";
import { csrfFrom, startTestApp, submitForm, type TestApp, type TestUser } from "../support/app.js";
import { signTwilioRequest } from "../support/twilio-emulator.js";

// The portal speaks English and Dutch. Which one: the signed-in user's saved choice, else the
// visitor's cookie (the language switch), else Accept-Language, else DEFAULT_LOCALE. The SMS and
// the phone call use the language of the person they go to.

const authToken = "languages-test-auth-token";
let t: TestApp;

before(async () => {
  // Twilio's auth token signs the call's webhooks; the messages and calls themselves go to the outbox.
  t = await startTestApp({ env: { TWILIO_AUTH_TOKEN: authToken, PRACTICE_PHONE: "020 123 4567" } });
});
after(() => t.close());

const htmlLang = (html: string) => html.match(/<html lang="([a-z]+)">/)?.[1];
const heading = (html: string) => html.match(/<h1>([^<]*)<\/h1>/)?.[1];
const localeOf = async (userId: number) =>
  (await t.database.db.query("SELECT locale FROM users WHERE id = $1", [userId])).rows[0]?.locale as string | null;

/** Logs in through the form with the given headers on every request; the agent keeps the cookies. */
async function logInWith(user: TestUser, headers: Record<string, string> = {}) {
  const agent = request.agent(t.app);
  const page = await agent.get("/login").set(headers);
  const response = await agent
    .post("/login")
    .set(headers)
    .type("form")
    .send({ email: user.email, password: user.password, _csrf: csrfFrom(page.text) });
  return { agent, response };
}

describe("choosing the language", () => {
  test("a browser that asks for Dutch gets the Dutch login page, <html lang> included", async () => {
    const page = await request(t.app).get("/login").set("Accept-Language", "nl-NL,nl;q=0.9,en;q=0.5");
    assert.equal(page.status, 200);
    assert.equal(htmlLang(page.text), "nl");
    assert.equal(heading(page.text), "Inloggen");
    assert.match(page.text, /<label for="email">E-mailadres<\/label>/);
    assert.match(page.text, /Wachtwoord vergeten of telefoon kwijt\? Bel de praktijk op <a href="tel:\+31201234567">/);
    assert.equal(page.headers["content-language"], "nl");
  });

  test("no Accept-Language, or only languages the portal does not speak: English (DEFAULT_LOCALE)", async () => {
    for (const header of [undefined, "de-DE,fr;q=0.8"]) {
      const call = request(t.app).get("/login");
      const page = header ? await call.set("Accept-Language", header) : await call;
      assert.equal(htmlLang(page.text), "en", String(header));
      assert.equal(heading(page.text), "Log in");
    }
  });

  test("Accept-Language is read as HTTP defines it: the most wanted language first, in any case, and q=0 for one not wanted", async () => {
    for (const [header, expected] of [
      ["nl-NL, en;q=0.5", "nl"],
      ["nl-NL,en-US;q=0.9,en;q=0.8", "nl"],
      ["en-GB, nl;q=0.9", "en"],
      ["NL", "nl"],
      ["NL-nl, en;q=0.5", "nl"],
      ["nl;q=0, en;q=0.5", "en"],
      ["nl;q=0.000, de", "en"],
      ["*;q=0.5, nl;q=0", "en"],
      ["de-DE, nl-BE;q=0.8, en;q=0.5", "nl"],
    ] as const) {
      const page = await request(t.app).get("/login").set("Accept-Language", header);
      assert.equal(htmlLang(page.text), expected, header);
    }
  });

  test("the visitor's cookie comes before Accept-Language", async () => {
    const english = await request(t.app).get("/login").set("Accept-Language", "nl").set("Cookie", "portal.lang=en");
    assert.equal(htmlLang(english.text), "en");
    const dutch = await request(t.app).get("/login").set("Accept-Language", "en-GB").set("Cookie", "portal.lang=nl");
    assert.equal(htmlLang(dutch.text), "nl");
    const unknown = await request(t.app).get("/login").set("Accept-Language", "nl").set("Cookie", "portal.lang=../../etc");
    assert.equal(htmlLang(unknown.text), "nl", "a cookie naming no language of the portal is passed over");
  });

  test("a signed-in user's saved language comes before the cookie and Accept-Language", async () => {
    const user = await t.createUser("patient", { name: "Bep de Vries" });
    await t.services.userLocales.saveUserLocale(user.id, "nl");
    const { agent } = await logInWith(user, { "Accept-Language": "en", Cookie: "portal.lang=en" });
    const home = await agent.get("/patient").set("Accept-Language", "en").set("Cookie", "portal.lang=en");
    assert.equal(home.status, 200);
    assert.equal(htmlLang(home.text), "nl");
    assert.equal(heading(home.text), "Welkom, Bep de Vries");
    assert.match(home.text, /<span class="role-tag">patiënt<\/span>/);
  });

  test("a request that needs no words (a file under /public) is not given them; its 404 page still has them", async () => {
    const missing = await request(t.app).get("/public/no-such-file.css").set("Accept-Language", "nl");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["content-language"], undefined, "the language middleware did not run");
    assert.equal(htmlLang(missing.text), "en");
    assert.equal(heading(missing.text), "Page not found");
  });

  test("DEFAULT_LOCALE=nl speaks Dutch to a browser that asks for nothing", async () => {
    const dutchByDefault = await startTestApp({ database: t.database, env: { DEFAULT_LOCALE: "nl" } });
    const page = await request(dutchByDefault.app).get("/login");
    assert.equal(htmlLang(page.text), "nl");
    assert.equal(heading(page.text), "Inloggen");
    const english = await request(dutchByDefault.app).get("/login").set("Accept-Language", "en-US");
    assert.equal(htmlLang(english.text), "en", "a browser that asks for English still gets it");
  });
});

describe("the language switch", () => {
  test("is in the footer of every page, a form with both languages, each marked with its own lang", async () => {
    const page = await request(t.app).get("/help/2fa");
    const form = page.text.match(/<form method="post" action="\/language"[\s\S]*?<\/form>/)?.[0] ?? "";
    assert.match(form, /name="_csrf" value="[^"]+"/);
    assert.match(form, /<input type="hidden" name="next" value="\/help\/2fa">/);
    assert.match(form, /<button type="submit" name="lang" value="en" lang="en"[^>]*>English<\/button>/);
    assert.match(form, /<button type="submit" name="lang" value="nl" lang="nl"[^>]*>Nederlands<\/button>/);
  });

  test("sets a one-year cookie and goes back to the page; a visitor has no account to save it in", async () => {
    const agent = request.agent(t.app);
    const page = await agent.get("/help/2fa");
    const switched = await agent
      .post("/language")
      .type("form")
      .send({ lang: "nl", next: "/help/2fa", _csrf: csrfFrom(page.text) });
    assert.equal(switched.status, 303);
    assert.equal(switched.headers.location, "/help/2fa");
    const cookie = ([] as string[]).concat(switched.headers["set-cookie"] ?? []).find((c) => c.startsWith("portal.lang="));
    assert.ok(cookie, "the cookie is set");
    assert.match(cookie, /^portal\.lang=nl;/);
    assert.match(cookie, /Max-Age=31536000/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /Secure/, "Secure only in production");
    const help = await agent.get("/help/2fa").set("Accept-Language", "en");
    assert.equal(htmlLang(help.text), "nl");
    assert.equal(heading(help.text), "Hulp bij inloggen in twee stappen");
  });

  test("returns only to a page of this site", async () => {
    const agent = request.agent(t.app);
    const page = await agent.get("/login");
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const switched = await agent
        .post("/language")
        .type("form")
        .send({ lang: "en", next, _csrf: csrfFrom(page.text) });
      assert.equal(switched.headers.location, "/", next);
    }
  });

  test("refuses a language the portal does not speak, and a form without its token", async () => {
    const agent = request.agent(t.app);
    const page = await agent.get("/login");
    const unknown = await agent
      .post("/language")
      .type("form")
      .send({ lang: "de", _csrf: csrfFrom(page.text) });
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /Choose English or Nederlands\./);
    const forged = await request(t.app).post("/language").type("form").send({ lang: "nl" });
    assert.equal(forged.status, 403);
  });

  test("signed in, the choice is saved as the user's and follows them to another browser", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logInWith(user);
    assert.equal(await localeOf(user.id), "en", "the first login saved the page's language");
    const home = await agent.get("/patient");
    const switched = await agent
      .post("/language")
      .type("form")
      .send({ lang: "nl", next: "/patient", _csrf: csrfFrom(home.text) });
    assert.equal(switched.headers.location, "/patient");
    assert.equal(await localeOf(user.id), "nl");
    const { agent: elsewhere } = await logInWith(user, { "Accept-Language": "en" });
    const page = await elsewhere.get("/patient").set("Accept-Language", "en");
    assert.equal(htmlLang(page.text), "nl", "another browser, no cookie: the saved choice");
  });

  test("the browser's choice outlives a logout: the logout ends the session cookie by name, not every cookie", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logInWith(user, { "Accept-Language": "en" });
    const home = await agent.get("/patient").set("Accept-Language", "en");
    await agent
      .post("/language")
      .set("Accept-Language", "en")
      .type("form")
      .send({ lang: "nl", next: "/patient", _csrf: csrfFrom(home.text) });
    const page = await agent.get("/patient").set("Accept-Language", "en");
    const out = await agent
      .post("/logout")
      .set("Accept-Language", "en")
      .type("form")
      .send({ _csrf: csrfFrom(page.text) });
    assert.equal(out.status, 303);
    // Clear-Site-Data: "cookies" would take the portal.lang cookie with it: the logged-out page
    // and the next login would be in the browser's English again.
    assert.doesNotMatch(String(out.headers["clear-site-data"] ?? ""), /"cookies"/);
    const cookies = ([] as string[]).concat(out.headers["set-cookie"] ?? []);
    assert.ok(
      cookies.some((cookie) => cookie.startsWith("portal.sid=;") && /Expires=Thu, 01 Jan 1970/.test(cookie)),
      cookies.join("\n"),
    );
    assert.ok(!cookies.some((cookie) => cookie.startsWith("portal.lang=")), "the language cookie is left alone");
    const loggedOut = await agent.get(out.headers.location!).set("Accept-Language", "en");
    assert.equal(htmlLang(loggedOut.text), "nl");
    assert.match(loggedOut.text, /role="status">U bent uitgelogd\./);
  });
});

describe("the first login", () => {
  test("saves the language of the pages it was shown in; a later login does not change it", async () => {
    const user = await t.createUser("patient");
    assert.equal(await localeOf(user.id), null);
    const { response } = await logInWith(user, { "Accept-Language": "nl" });
    assert.equal(response.status, 303);
    assert.equal(await localeOf(user.id), "nl");
    await logInWith(user, { "Accept-Language": "en", Cookie: "portal.lang=en" });
    assert.equal(await localeOf(user.id), "nl", "the saved choice stays until the user switches");
  });

  test("a password alone switches the page's language but does not change the user's saved one", async () => {
    const user = await t.createUser("patient", { withApp: true });
    await t.database.db.query("UPDATE users SET locale = 'en' WHERE id = $1", [user.id]);
    const { agent, response } = await logInWith(user);
    assert.equal(response.headers.location, "/login/2fa");
    const choose = await agent.get("/login/2fa");
    const switched = await agent
      .post("/language")
      .type("form")
      .send({ lang: "nl", next: "/login/2fa", _csrf: csrfFrom(choose.text) });
    assert.equal(switched.status, 303);
    assert.equal(await localeOf(user.id), "en", "the SMS and calls keep the language the user chose");
  });

  test("with two-step login, the language is saved when the second step passes", async () => {
    const user = await t.createUser("patient", { withApp: true });
    const { agent, response } = await logInWith(user, { "Accept-Language": "nl" });
    assert.equal(response.headers.location, "/login/2fa");
    assert.equal(await localeOf(user.id), null, "not yet after the password");
    const choose = await agent.get("/login/2fa").set("Accept-Language", "nl");
    assert.equal(htmlLang(choose.text), "nl");
    t.clock.advanceSeconds(30);
    const { generateTotpCode } = await import("../../src/methods/app/totp-codes.js");
    const appPage = await agent.get("/login/2fa/app").set("Accept-Language", "nl");
    const done = await agent
      .post("/login/2fa/app")
      .set("Accept-Language", "nl")
      .type("form")
      .send({ code: await generateTotpCode(user.totpSecret!, t.clock.now()), _csrf: csrfFrom(appPage.text) });
    assert.equal(done.status, 303);
    assert.equal(await localeOf(user.id), "nl");
  });

  test("a doctor who must set up two-step login gets the phone's code in the language of the pages", async () => {
    const doctor = await t.createUser("doctor", { withApp: false });
    const { agent, response } = await logInWith(doctor, { "Accept-Language": "nl" });
    assert.equal(response.headers.location, "/enrol");
    // The password is all this account has: the enrolment is where its first login goes on.
    assert.equal(await localeOf(doctor.id), "nl");
    const page = await agent.get("/enrol/phone").set("Accept-Language", "nl");
    assert.equal(htmlLang(page.text), "nl");
    const sent = await agent
      .post("/enrol/phone")
      .set("Accept-Language", "nl")
      .type("form")
      .send({ phone: "06 13000005", _csrf: csrfFrom(page.text) });
    assert.equal(sent.headers.location, "/enrol/phone/verify");
    const { rows } = await t.database.db.query("SELECT body FROM phone_outbox WHERE to_number = $1 ORDER BY id DESC LIMIT 1", [
      "+31613000005",
    ]);
    assert.match(String(rows[0]?.body), /^Portal: code \d{6} bevestigt dit telefoonnummer\. 5 minuten geldig\./);
  });
});

describe("pages in Dutch", () => {
  /** The login form sent from a Dutch browser. */
  async function dutchLogin(fields: { email: string; password: string }) {
    const agent = request.agent(t.app);
    const page = await agent.get("/login").set("Accept-Language", "nl");
    return agent
      .post("/login")
      .set("Accept-Language", "nl")
      .type("form")
      .send({ ...fields, _csrf: csrfFrom(page.text) });
  }

  test("a form error is worded in Dutch, title and field alike", async () => {
    const refused = await dutchLogin({ email: "", password: "x" });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /<title>Fout: Inloggen · Portal<\/title>/);
    assert.match(refused.text, /<h2 class="error-summary-title">Er is een probleem<\/h2>/);
    assert.match(refused.text, /<a href="#email">Vul uw e-mailadres in\.<\/a>/);
    assert.match(refused.text, /<span class="visually-hidden">Fout:<\/span> Vul uw e-mailadres in\./);
  });

  test("a field's own name is translated inside the message about it", async () => {
    const refused = await dutchLogin({ email: "pat\u0007@example.test", password: "x" });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /“E-mailadres” bevat een onzichtbaar stuurteken/);
  });

  test("the error page and a notice kept in the session are worded when shown", async () => {
    const missing = await request(t.app).get("/no-such-page").set("Accept-Language", "nl");
    assert.equal(missing.status, 404);
    assert.equal(heading(missing.text), "Pagina niet gevonden");
    assert.match(missing.text, /Deze pagina bestaat niet\./);

    const user = await t.createUser("patient");
    const { agent } = await logInWith(user, { "Accept-Language": "nl" });
    const security = await agent.get("/account/security");
    const forgotten = await agent
      .post("/account/browsers/forget-all")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.equal(forgotten.headers.location, "/account/security");
    const stored = await t.database.db.query("SELECT sess -> 'notice' AS notice FROM session WHERE user_id = $1", [user.id]);
    assert.deepEqual(stored.rows[0]?.notice, { key: "account:browsers.noneToForget" }, "kept as a key, not as words");
    assert.match((await agent.get("/account/security")).text, /role="status">Er werd geen browser onthouden\./);

    const out = await agent
      .post("/logout")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    const loginPage = await agent.get(out.headers.location!).set("Accept-Language", "nl");
    assert.match(loginPage.text, /role="status">U bent uitgelogd\./);
  });

  test("a login that a revocation stopped halfway says so in Dutch, at the second step and at enrolment", async () => {
    for (const [role, stagePath, notice] of [
      ["patient", "/login/2fa", "Uw inlog is niet op tijd afgerond of is gestopt. Log opnieuw in."],
      ["doctor", "/enrol", "Uw sessie is beëindigd. Log opnieuw in."],
    ] as const) {
      const user = await t.createUser(role, { withApp: role === "patient" });
      await t.services.userLocales.saveUserLocale(user.id, "nl");
      const { agent, response } = await logInWith(user, { "Accept-Language": "nl" });
      assert.equal(response.headers.location, stagePath);
      // The session as a request still in flight writes it back after the revocation.
      const { rows } = await t.database.db.query("SELECT sid, sess, expire FROM session WHERE user_id = $1", [user.id]);
      await t.services.sessions.invalidateUserSessions(user.id);
      for (const row of rows) {
        await t.database.db.query("INSERT INTO session (sid, sess, expire) VALUES ($1, $2, $3)", [
          row.sid,
          JSON.stringify(row.sess),
          row.expire,
        ]);
      }
      const ended = await agent.get(stagePath).set("Accept-Language", "nl");
      assert.equal(ended.headers.location, "/login", role);
      const loginPage = await agent.get("/login").set("Accept-Language", "nl");
      assert.match(loginPage.text, new RegExp(`role="status">${notice}`), role);
    }
  });

  test("dates and times are written in Dutch, in Amsterdam time", async () => {
    const doctor = await t.createUser("doctor");
    const patient = await t.createUser("patient", { name: "Kees Smit" });
    await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
    await t.database.db.query(
      "UPDATE users SET created_at = '2026-11-30T20:30:00Z', date_of_birth = '1950-05-01' WHERE id = $1",
      [patient.id],
    );
    await t.services.userLocales.saveUserLocale(doctor.id, "nl");
    const { agent } = await t.logIn(doctor);
    const page = await agent.get(`/doctor/patients/${patient.id}`);
    assert.match(page.text, /<dt>Geboortedatum<\/dt><dd>1 mei 1950<\/dd>/);
    assert.match(page.text, /<dt>Ingeschreven<\/dt><dd>30 november 2026 om 21:30<\/dd>/);
    await t.services.userLocales.saveUserLocale(doctor.id, "en");
    const english = await agent.get(`/doctor/patients/${patient.id}`);
    assert.match(english.text, /<dt>Registered<\/dt><dd>30 November 2026 at 21:30<\/dd>/);
  });
});

describe("the SMS and the call speak the recipient's language", () => {
  async function dutchPatientWithPhone(phone: string): Promise<TestUser> {
    const user = await t.createUser("patient");
    await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())", [
      user.id,
      phone,
    ]);
    await t.services.userLocales.saveUserLocale(user.id, "nl");
    return user;
  }

  async function atSecondStep(user: TestUser) {
    // The browser asks for English: the texts follow the user's saved choice, not the page.
    const { agent, response } = await logInWith(user, { "Accept-Language": "en" });
    assert.equal(response.headers.location, "/login/2fa");
    const choose = await agent.get("/login/2fa");
    return { agent, csrf: csrfFrom(choose.text) };
  }

  function webhook(kind: "voice" | "gather", token: string, params: Record<string, string>) {
    const path = `/webhooks/twilio/${kind}/${token}`;
    return request(t.app)
      .post(path)
      .set("X-Twilio-Signature", signTwilioRequest(authToken, `${t.config.publicBaseUrl}${path}`, params))
      .type("form")
      .send(params);
  }

  test("a Dutch user's login code comes in Dutch", async () => {
    const user = await dutchPatientWithPhone("+31613000001");
    const { agent, csrf } = await atSecondStep(user);
    await agent.post("/login/2fa/sms/send").type("form").send({ _csrf: csrf });
    const { rows } = await t.database.db.query("SELECT body FROM phone_outbox WHERE to_number = $1 ORDER BY id DESC LIMIT 1", [
      "+31613000001",
    ]);
    assert.match(String(rows[0]?.body), /^Uw code voor Portal is (\d{6})\. Deze verloopt over 5 minuten\.\n\n@portal\.test #\1$/);
  });

  test("the call asks in Dutch with a Dutch voice, asks again after a silence, and answers in Dutch", async () => {
    const user = await dutchPatientWithPhone("+31613000002");
    const { agent, csrf } = await atSecondStep(user);
    await agent.post("/login/2fa/call/start").type("form").send({ _csrf: csrf });
    const { rows } = await t.database.db.query(
      "SELECT token FROM phone_challenges WHERE user_id = $1 AND channel = 'call' ORDER BY id DESC LIMIT 1",
      [user.id],
    );
    const token = String(rows[0]?.token);
    const twiml = await webhook("voice", token, { CallSid: "CA1" });
    assert.equal(twiml.status, 200);
    const says = [...twiml.text.matchAll(/<Say language="nl-NL" voice="Polly\.Lotte">([^<]*)<\/Say>/g)].map((match) => match[1]);
    assert.equal(says.length, 3, "the question twice, then the goodbye");
    assert.match(says[0]!, /^Goedendag, u wordt gebeld door Portal\..*Toets 1 om deze inlog te bevestigen/);
    assert.equal(says[1], says[0], "the same question again when no key was pressed");
    assert.match(says[2]!, /^Er is geen toets ingedrukt\./);
    assert.equal([...twiml.text.matchAll(/<Gather /g)].length, 2);

    const answered = await webhook("gather", token, { CallSid: "CA1", Digits: "1" });
    assert.match(
      answered.text,
      /<Say language="nl-NL" voice="Polly\.Lotte">Dank u wel\. Uw inlog is bevestigd\. Tot ziens\.<\/Say>/,
    );
    const again = await webhook("gather", token, { CallSid: "CA1", Digits: "1" });
    assert.match(again.text, /Dit telefoontje is niet meer geldig\./, "a replay changes nothing, in Dutch");
  });

  test("an admin's reset warns the old number in its owner's language, not the admin's", async () => {
    const user = await dutchPatientWithPhone("+31613000004");
    const admin = await t.createUser("admin");
    await t.services.userLocales.saveUserLocale(admin.id, "en");
    const { agent } = await t.logIn(admin);
    const resetPath = `/admin/users/${user.id}/reset-2fa`;
    const done = await submitForm(agent, resetPath, resetPath, { reason: "Lost phone, called back" });
    assert.equal(done.status, 303);
    const { rows } = await t.database.db.query("SELECT body FROM phone_outbox WHERE to_number = $1 ORDER BY id DESC LIMIT 1", [
      "+31613000004",
    ]);
    assert.equal(
      rows[0]?.body,
      "Portal: de praktijk heeft uw inloggen in twee stappen teruggezet. Niet door u gevraagd? Neem dan contact op met de praktijk.",
    );
  });

  test("a user who chose no language hears DEFAULT_LOCALE", async () => {
    const user = await t.createUser("patient");
    await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, '+31613000003', now())", [
      user.id,
    ]);
    await t.database.db.query("UPDATE users SET locale = NULL WHERE id = $1", [user.id]);
    const { agent, csrf } = await atSecondStep(user);
    await agent.post("/login/2fa/call/start").type("form").send({ _csrf: csrf });
    const { rows } = await t.database.db.query("SELECT token FROM phone_challenges WHERE user_id = $1 AND channel = 'call'", [
      user.id,
    ]);
    const twiml = await webhook("voice", String(rows[0]?.token), { CallSid: "CA2" });
    assert.match(twiml.text, /<Say language="en-GB">Hello, this is Portal\./);
  });
});
