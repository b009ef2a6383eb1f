import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "node-html-parser";
import type request from "supertest";
import { readCatalogues } from "../../src/i18n.js";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { csrfFrom, logIn, newRecoveryCodesPage, startTestApp, submitForm, type TestApp, type TestUser } from "../support/app.js";

// The account security page: adding, replacing and removing methods, step-up, password,
// sessions. Phone messages go to the development outbox, read here from its table.

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

async function lastSms(to?: string): Promise<{ to: string; body: string }> {
  const { rows } = await t.database.db.query(
    "SELECT to_number, body FROM phone_outbox WHERE kind = 'sms' AND ($1::text IS NULL OR to_number = $1) ORDER BY id DESC LIMIT 1",
    [to ?? null],
  );
  return { to: String(rows[0]?.to_number), body: String(rows[0]?.body) };
}
const codeIn = (body: string) => body.match(/\b(\d{6})\b/)?.[1] ?? "";

async function addPhone(agent: request.Agent, typed: string) {
  const sent = await submitForm(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: typed });
  assert.equal(
    sent.headers.location,
    "/account/2fa/phone/verify",
    `${sent.status} ${sent.text.match(/<main[\s\S]*<\/main>/)?.[0]}`,
  );
  const { body } = await lastSms();
  return submitForm(agent, "/account/2fa/phone/verify", "/account/2fa/phone/verify", { code: codeIn(body) });
}

/** Sets up the app at `path` (the security page's, or the forced enrolment's). */
async function addApp(agent: request.Agent, path = "/account/2fa/app") {
  const page = await agent.get(path);
  const secret = page.text.match(/<code class="secret" id="secret">([A-Z2-7 ]+)<\/code>/)![1]!.replace(/\s+/g, "");
  const done = await agent
    .post(path)
    .type("form")
    .send({ code: await generateTotpCode(secret, t.clock.now()), _csrf: csrfFrom(page.text) });
  return { secret, done };
}

describe("a patient manages their methods", () => {
  test("adds a phone and an app, removes the app, changes the phone", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const phoneAdded = await addPhone(agent, "06 12121212");
    assert.match(
      (await newRecoveryCodesPage(agent, phoneAdded)).text,
      /Your recovery codes/,
      "the first factor brings recovery codes",
    );
    const { done } = await addApp(agent);
    assert.equal(done.headers.location, "/account/security", "a second factor keeps the codes");
    let security = await agent.get("/account/security");
    assert.match(security.text, /Set up \d/);
    assert.match(security.text, /\+31 6 •••• ••12, verified/);
    assert.match(security.text, /10 left/);

    const removed = await submitForm(agent, "/account/security", "/account/2fa/app/remove", {});
    assert.equal(removed.headers.location, "/account/security");
    security = await agent.get("/account/security");
    assert.match(security.text, /The authenticator app was removed/);
    assert.match((await lastSms("+31612121212")).body, /authenticator app was removed/);

    await addPhone(agent, "+31 6 3434 3434");
    assert.match(
      (await lastSms("+31612121212")).body,
      /changed to one ending in 34\. If you did not do this/,
      "the old number is told",
    );
    assert.equal((await t.services.phone.findVerifiedPhone(user.id))?.phone, "+31634343434");
    security = await agent.get("/account/security");
    assert.match(security.text, /Phone number changed/);
    assert.match(security.text, /Authenticator app removed/);
  });

  test("after 5 minutes a change asks again for the password and the current second factor (SMS)", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    await addPhone(agent, "06 56565656");
    t.clock.advanceMinutes(6);
    await agent.get("/account/security");
    const refused = await submitForm(agent, "/account/security", "/account/2fa/phone/remove", {});
    assert.match(refused.headers.location!, /^\/account\/confirm\?next=%2Faccount%2Fsecurity/);
    assert.ok(await t.services.phone.findVerifiedPhone(user.id), "nothing removed yet");
    const confirmPage = await agent.get(refused.headers.location!);
    assert.match(confirmPage.text, /Send me a code by SMS/);
    const withoutCode = await agent
      .post("/account/confirm")
      .type("form")
      .send({ password: user.password, next: "/account/security", _csrf: csrfFrom(confirmPage.text) });
    assert.equal(withoutCode.status, 400);
    await agent
      .post("/account/confirm/sms")
      .type("form")
      .send({ next: "/account/security", _csrf: csrfFrom(confirmPage.text) });
    const code = codeIn((await lastSms("+31656565656")).body);
    const wrongPassword = await agent
      .post("/account/confirm")
      .type("form")
      .send({
        password: "not my password at all",
        method: "sms",
        code,
        next: "/account/security",
        _csrf: csrfFrom(confirmPage.text),
      });
    assert.equal(wrongPassword.status, 401);
    const confirmed = await agent
      .post("/account/confirm")
      .type("form")
      .send({ password: user.password, method: "sms", code, next: "/account/security", _csrf: csrfFrom(confirmPage.text) });
    assert.equal(confirmed.headers.location, "/account/security");
    const removed = await submitForm(agent, "/account/security", "/account/2fa/phone/remove", {});
    assert.equal(removed.headers.location, "/account/security");
    assert.equal(await t.services.phone.findVerifiedPhone(user.id), null);
    assert.equal(await t.services.recoveryCodes.countRemainingCodes(user.id), 0, "no factor left: no codes either");
  });
});

describe("sessions and password", () => {
  test("sign out everywhere else ends the other sessions at once", async () => {
    const user = await t.createUser("patient");
    const first = await logIn(t.app, user.email, user.password);
    const second = await logIn(t.app, user.email, user.password);
    assert.equal((await second.agent.get("/patient")).status, 200);
    const security = await first.agent.get("/account/security");
    assert.match(security.text, /in 1 other place/);
    const ended = await first.agent
      .post("/account/sessions/end-others")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.equal(ended.headers.location, "/account/security");
    assert.equal(
      (await second.agent.get("/patient")).headers.location,
      "/login?ended=1",
      "the second agent's cookie stopped working",
    );
    assert.equal((await first.agent.get("/patient")).status, 200, "this session goes on");
  });

  test("a session written back by a request still in flight stays revoked", async () => {
    const user = await t.createUser("patient");
    const second = await logIn(t.app, user.email, user.password);
    await second.agent.get("/patient");
    // The other session as it stands now, before this one exists.
    const { rows: saved } = await t.database.db.query(
      "SELECT sid, sess, expire FROM session WHERE (sess::jsonb ->> 'userId') = $1",
      [String(user.id)],
    );
    const first = await logIn(t.app, user.email, user.password);
    const security = await first.agent.get("/account/security");
    await first.agent
      .post("/account/sessions/end-others")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    // As express-session does at the end of a request that began before the revocation.
    for (const row of saved) {
      await t.database.db.query(
        "INSERT INTO session (sid, sess, expire) VALUES ($1, $2, $3) ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess",
        [row.sid, JSON.stringify(row.sess), row.expire],
      );
    }
    assert.equal((await second.agent.get("/patient")).headers.location, "/login?ended=1");
    assert.equal((await first.agent.get("/patient")).status, 200);
  });

  test("a password change ends other sessions and tells the phone", async () => {
    const user = await t.createUser("patient");
    await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, '+31678787878', now())", [
      user.id,
    ]);
    const other = await logIn(t.app, user.email, user.password);
    const { agent } = await logIn(t.app, user.email, user.password);
    // Both sessions need the SMS step first.
    for (const session of [other.agent, agent]) {
      await submitForm(session, "/login/2fa", "/login/2fa/sms/send", {});
      t.clock.advanceSeconds(31);
      const code = codeIn((await lastSms("+31678787878")).body);
      assert.equal((await submitForm(session, "/login/2fa/sms", "/login/2fa/sms", { code })).headers.location, "/");
    }
    const mismatch = await submitForm(agent, "/account/password", "/account/password", {
      current: user.password,
      password: "a brand new passphrase",
      repeat: "something else",
    });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /not the same/);
    const weak = await submitForm(agent, "/account/password", "/account/password", {
      current: user.password,
      password: "qwerty123456",
      repeat: "qwerty123456",
    });
    assert.match(weak.text, /most common passwords/);
    const changed = await submitForm(agent, "/account/password", "/account/password", {
      current: user.password,
      password: "a brand new passphrase",
      repeat: "a brand new passphrase",
    });
    assert.equal(changed.headers.location, "/account/security");
    assert.equal((await other.agent.get("/patient")).headers.location, "/login?ended=1");
    assert.match((await lastSms("+31678787878")).body, /your password was changed/);
    assert.equal((await logIn(t.app, user.email, user.password)).response.status, 401, "the old password is dead");
  });

  test("a user whose password was set by an admin must change it before anything else", async () => {
    const user = await t.createUser("patient");
    await t.database.db.query("UPDATE users SET must_change_password = true WHERE id = $1", [user.id]);
    const { agent } = await logIn(t.app, user.email, user.password);
    for (const path of ["/", "/patient", "/account/security"]) {
      const response = await agent.get(path);
      assert.equal(response.headers.location, path === "/" ? "/account/password" : "/account/password", path);
    }
    const page = await agent.get("/account/password");
    assert.match(page.text, /temporary password/);
    const changed = await submitForm(agent, "/account/password", "/account/password", {
      current: user.password,
      password: "my own chosen passphrase",
      repeat: "my own chosen passphrase",
    });
    assert.equal(changed.headers.location, "/account/security");
    assert.equal((await agent.get("/patient")).status, 200);
  });

  test("the forced password change still works 10 minutes into the session, without a loop", async () => {
    const patient = await t.createUser("patient");
    const doctor = await t.createUser("doctor");
    for (const user of [patient, doctor]) {
      await t.database.db.query("UPDATE users SET must_change_password = true WHERE id = $1", [user.id]);
      const { agent } = await t.logIn(user);
      t.clock.advanceMinutes(10);
      const page = await agent.get("/account/password");
      assert.equal(page.status, 200, `${user.role}: the form, not ${page.headers.location}`);
      assert.match(page.text, /temporary password/);
      const changed = await agent
        .post("/account/password")
        .type("form")
        .send({
          current: user.password,
          password: "a passphrase chosen later on",
          repeat: "a passphrase chosen later on",
          _csrf: csrfFrom(page.text),
        });
      assert.equal(changed.headers.location, "/account/security", user.role);
      assert.equal((await agent.get(`/${user.role}`)).status, 200, `${user.role}: the portal is open`);
      assert.equal((await logIn(t.app, user.email, user.password)).response.status, 401, "the temporary password is dead");
    }
  });
});

describe("doctors and role changes", () => {
  test("a doctor may remove one of two factors but never the last", async () => {
    const doctor: TestUser = await t.createUser("doctor");
    const { agent } = await t.logIn(doctor);
    await addPhone(agent, "06 24242424");
    let security = await agent.get("/account/security");
    assert.match(security.text, /action="\/account\/2fa\/app\/remove"/);
    await submitForm(agent, "/account/security", "/account/2fa/app/remove", {});
    security = await agent.get("/account/security");
    assert.doesNotMatch(security.text, /action="\/account\/2fa\/phone\/remove"/, "the last factor has no remove button");
    const refused = await agent
      .post("/account/2fa/phone/remove")
      .type("form")
      .send({ _csrf: csrfFrom(security.text) });
    assert.equal(refused.status, 403);
    assert.ok(await t.services.phone.findVerifiedPhone(doctor.id));
  });

  test("a doctor can enrol a phone instead of an app, and is then fully signed in", async () => {
    const doctor = await t.createUser("doctor", { withApp: false });
    const { agent, response } = await logIn(t.app, doctor.email, doctor.password);
    assert.equal(response.headers.location, "/enrol");
    const sent = await submitForm(agent, "/enrol/phone", "/enrol/phone", { phone: "06 31313131" });
    assert.equal(sent.headers.location, "/enrol/phone/verify");
    assert.equal((await agent.get("/doctor")).headers.location, "/enrol", "not before the code");
    const done = await submitForm(agent, "/enrol/phone/verify", "/enrol/phone/verify", {
      code: codeIn((await lastSms("+31631313131")).body),
    });
    assert.match((await newRecoveryCodesPage(agent, done)).text, /Your recovery codes/);
    assert.equal((await agent.get("/doctor")).status, 200);
  });

  test("a doctor whose first password was set by an admin sees the new recovery codes after changing it", async () => {
    const doctor = await t.createUser("doctor", { withApp: false });
    await t.database.db.query("UPDATE users SET must_change_password = true WHERE id = $1", [doctor.id]);
    const { agent, response } = await logIn(t.app, doctor.email, doctor.password);
    assert.equal(response.headers.location, "/enrol");
    const { done } = await addApp(agent, "/enrol/app");
    assert.equal(done.headers.location, "/account/recovery-codes/new");
    // The temporary password goes first, before anything else…
    assert.equal((await agent.get(done.headers.location!)).headers.location, "/account/password");
    const changed = await submitForm(agent, "/account/password", "/account/password", {
      current: doctor.password,
      password: "a passphrase of my own choosing",
      repeat: "a passphrase of my own choosing",
    });
    // …then the codes that came with the first method, shown once, are not lost.
    assert.match((await newRecoveryCodesPage(agent, changed)).text, /Your recovery codes/);
  });

  test("a patient made doctor must enrol at their next request", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    assert.equal((await agent.get("/patient")).status, 200);
    await t.database.db.query("UPDATE users SET role = 'doctor' WHERE id = $1", [user.id]);
    assert.equal((await agent.get("/doctor")).headers.location, "/enrol");
    assert.equal((await agent.get("/account/security")).headers.location, "/enrol");
    assert.equal((await agent.get("/enrol")).status, 200);
  });
});

describe("what a second session of the same user can do", () => {
  const secretIn = (html: string) => html.match(/<code class="secret" id="secret">([A-Z2-7 ]+)<\/code>/)![1]!.replace(/\s+/g, "");

  test("an enrolment page left open elsewhere never sees this session's secret, and ends once a factor exists", async () => {
    const doctor = await t.createUser("doctor", { withApp: false });
    const mine = await logIn(t.app, doctor.email, doctor.password);
    const other = await logIn(t.app, doctor.email, doctor.password);
    const otherPage = await other.agent.get("/enrol/app");
    const myPage = await mine.agent.get("/enrol/app");
    const mySecret = secretIn(myPage.text);
    assert.notEqual(secretIn(otherPage.text), mySecret, "each session has its own pending secret");
    const done = await mine.agent
      .post("/enrol/app")
      .type("form")
      .send({ code: await generateTotpCode(mySecret, t.clock.now()), _csrf: csrfFrom(myPage.text) });
    assert.equal(done.headers.location, "/account/recovery-codes/new");
    const stale = await other.agent.get("/enrol/app");
    assert.equal(stale.headers.location, "/login", "the other enrolment session is over");
    assert.equal((await other.agent.get("/doctor")).headers.location, "/login?ended=1");
    assert.equal((await mine.agent.get("/doctor")).status, 200);
  });

  test("a code proving a new phone works only in the session that asked for it", async () => {
    const user = await t.createUser("patient");
    const mine = await logIn(t.app, user.email, user.password);
    const other = await logIn(t.app, user.email, user.password);
    await submitForm(mine.agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 41414141" });
    const code = codeIn((await lastSms("+31641414141")).body);
    const elsewhere = await submitForm(other.agent, "/account/2fa/phone/verify", "/account/2fa/phone/verify", { code });
    assert.equal(elsewhere.status, 400);
    assert.equal(await t.services.phone.findVerifiedPhone(user.id), null);
    const here = await submitForm(mine.agent, "/account/2fa/phone/verify", "/account/2fa/phone/verify", { code });
    assert.equal(here.headers.location, "/account/recovery-codes/new");
    assert.equal((await t.services.phone.findVerifiedPhone(user.id))?.phone, "+31641414141");
  });

  test("wrong passwords when confirming a change count like wrong passwords at login", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    for (let i = 0; i < 5; i += 1) {
      const wrong = await submitForm(agent, "/account/confirm", "/account/confirm", {
        password: `wrong guess ${i}`,
        next: "/account/security",
      });
      assert.equal(wrong.status, 401);
    }
    const right = await submitForm(agent, "/account/confirm", "/account/confirm", {
      password: user.password,
      next: "/account/security",
    });
    assert.equal(right.status, 401, "the account waits, even for the right password");
    t.clock.advanceMinutes(1);
    await agent.get("/patient");
    const later = await submitForm(agent, "/account/confirm", "/account/confirm", {
      password: user.password,
      next: "/account/security",
    });
    assert.equal(later.headers.location, "/account/security");
  });
});

describe("in Dutch", () => {
  const catalogues = readCatalogues();

  /** A patient who chose Dutch, with the app, a verified phone and recovery codes. */
  async function dutchPatient(phone: string): Promise<TestUser> {
    const user = await t.createUser("patient", { withApp: true });
    await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())", [
      user.id,
      phone,
    ]);
    await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
    await t.services.userLocales.saveUserLocale(user.id, "nl");
    return user;
  }

  /** What the page says, without its markup. */
  const textOf = (html: string) => parse(html).querySelector("main")?.text.replace(/\s+/g, " ") ?? "";

  /**
   * The English words of these catalogue sections that are still on a Dutch page: every text that
   * differs between the languages, cut at its {{placeholders}}, in pieces long enough to mean something.
   */
  function englishLeftIn(text: string, sections: string[]): string[] {
    const pieces = sections.flatMap((section) => {
      const [namespace, path] = section.split(":") as [string, string];
      const pick = (catalogue: Record<string, unknown>) =>
        path ? path.split(".").reduce<unknown>((node, name) => (node as Record<string, unknown>)?.[name], catalogue) : catalogue;
      const english = flatten(pick(catalogues.en[namespace]!));
      const dutch = flatten(pick(catalogues.nl[namespace]!));
      return [...english]
        .filter(([key, value]) => dutch.get(key) !== value)
        .flatMap(([, value]) => value.split(/\{\{[^}]*\}\}/).map((piece) => piece.trim()))
        .filter((piece) => piece.length >= 12);
    });
    return pieces.filter((piece) => text.includes(piece));
  }

  function flatten(node: unknown, prefix = "", into = new Map<string, string>()): Map<string, string> {
    if (typeof node === "string") into.set(prefix, node);
    else if (node && typeof node === "object") {
      for (const [name, child] of Object.entries(node)) flatten(child, prefix ? `${prefix}.${name}` : name, into);
    }
    return into;
  }

  test("the security page is in Dutch, with the language switch of its own", async () => {
    const user = await dutchPatient("+31612340001");
    const { agent } = await t.logIn(user);
    await t.logIn(user); // a second session elsewhere
    const html = (await agent.get("/account/security")).text;
    assert.match(html, /<html lang="nl">/);
    assert.match(html, /<h1>Beveiligingsinstellingen<\/h1>/);
    assert.match(html, /<title>Beveiligingsinstellingen · Portal<\/title>/);
    const text = textOf(html);
    assert.match(
      text,
      /Inloggen in twee stappen staat aan\. Bij het inloggen stelt het portaal de manier voor die u het laatst hebt gebruikt: de authenticator-app\./,
    );
    assert.match(text, /Authenticator-app Ingesteld op \d+ [a-z]+ \d{4} om \d\d:\d\d/);
    assert.match(text, /Mobiele telefoon Sms-code of telefoontje \+31 6 •••• ••01, bevestigd op/);
    assert.match(text, /Herstelcodes nog 10 over/);
    assert.match(text, /U bent hier ingelogd en op 1 andere plek\./);
    assert.match(text, /Recente beveiligingsactiviteit/);
    assert.match(text, /Ziet u iets wat u niet herkent\? Wijzig dan uw wachtwoord en neem contact op met de praktijk\./);
    // What a screen reader reads: the whole name, in a Dutch word order.
    const names = parse(html)
      .querySelectorAll("main a, main button")
      .map((element) => (element.getAttribute("aria-label") ?? element.text).replace(/\s+/g, " ").trim());
    for (const name of ["De authenticator-app vervangen", "De authenticator-app verwijderen", "Overal elders uitloggen"]) {
      assert.ok(names.includes(name), `${name} in ${names.join(" | ")}`);
    }
    // The switch: the page's own, with ids of its own, and the footer's.
    const switches = parse(html).querySelectorAll("form.language-switch");
    assert.deepEqual(
      switches.map((form) => form.getAttribute("aria-labelledby")),
      ["security-language-label", "language-switch-label"],
    );
    assert.equal(
      parse(html).querySelectorAll("[id]").length,
      new Set(
        parse(html)
          .querySelectorAll("[id]")
          .map((e) => e.id),
      ).size,
    );
    assert.deepEqual(
      englishLeftIn(text, ["account:security", "methods:phone", "methods:app", "methods:recovery", "events:"]),
      [],
    );
  });

  test("the page's switch turns the security page English, and the choice is the user's", async () => {
    const user = await dutchPatient("+31612340002");
    const { agent } = await t.logIn(user);
    const page = await agent.get("/account/security");
    const switched = await agent
      .post("/language")
      .type("form")
      .send({ lang: "en", next: "/account/security", _csrf: csrfFrom(page.text) });
    assert.equal(switched.headers.location, "/account/security");
    const english = (await agent.get("/account/security")).text;
    assert.match(english, /<h1>Security settings<\/h1>/);
    assert.ok(englishLeftIn(textOf(english), ["account:security", "events:"]).length > 5, "the check finds English where it is");
    const { rows } = await t.database.db.query("SELECT locale FROM users WHERE id = $1", [user.id]);
    assert.equal(rows[0]?.locale, "en");
  });

  test("the confirmation asks in Dutch, words its errors and notices in Dutch, and the SMS after the change is Dutch", async () => {
    const phone = "+31612340003";
    const user = await dutchPatient(phone);
    const { agent } = await t.logIn(user);
    t.clock.advanceMinutes(6);
    const asked = await submitForm(agent, "/account/security", "/account/2fa/app/remove", {});
    const confirmPath = asked.headers.location!;
    assert.match(confirmPath, /^\/account\/confirm\?next=%2Faccount%2Fsecurity&action=/);
    const action = new URLSearchParams(confirmPath.split("?")[1]).get("action")!;
    const confirmPage = await agent.get(confirmPath);
    assert.match(confirmPage.text, /<h1>Bevestig dat u het bent<\/h1>/);
    const text = textOf(confirmPage.text);
    assert.match(
      text,
      /U wilt de authenticator-app verwijderen\. Bevestig daarvoor uw wachtwoord en een code\. Daarna gebeurt het meteen\./,
    );
    assert.match(confirmPage.text, /<label for="method">Waar de code vandaan komt<\/label>/);
    assert.match(confirmPage.text, /<option value="app"[^>]*>Mijn authenticator-app<\/option>/);
    assert.match(confirmPage.text, /<option value="sms"[^>]*>De sms die ik kreeg<\/option>/);
    assert.match(confirmPage.text, /<option value="recovery"[^>]*>Een herstelcode<\/option>/);
    assert.match(text, /Bevestigen met een sms-code\? Vraag er dan eerst een aan\. Stuur mij een code per sms/);
    assert.deepEqual(englishLeftIn(text, ["account:confirm", "methods:phone.sms", "methods:app", "methods:recovery"]), []);

    const csrf = csrfFrom(confirmPage.text);
    const send = (fields: Record<string, string>) =>
      agent
        .post("/account/confirm")
        .type("form")
        .send({ next: "/account/security", action, _csrf: csrf, ...fields });
    const wrongPassword = await send({ password: "not my password at all", method: "app", code: "123456" });
    assert.equal(wrongPassword.status, 401);
    assert.match(wrongPassword.text, /<title>Fout: Bevestig dat u het bent · Portal<\/title>/);
    assert.match(wrongPassword.text, /<a href="#password">Dat wachtwoord klopt niet\. Na een aantal verkeerde wachtwoorden/);
    const withoutCode = await send({ password: user.password, method: "app" });
    assert.equal(withoutCode.status, 400);
    assert.match(withoutCode.text, /<a href="#code">Vul ook de code in\.<\/a>/);
    const malformed = await send({ password: user.password, method: "app", code: "abcdef" });
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /<a href="#code">Typ de 6 cijfers uit uw app\.<\/a>/);

    // The SMS way: the notice names the number and the time, in Dutch.
    const sent = await agent.post("/account/confirm/sms").type("form").send({ next: "/account/security", action, _csrf: csrf });
    assert.equal(sent.headers.location, confirmPath);
    const withNotice = await agent.get(confirmPath);
    assert.match(
      withNotice.text,
      /role="status">We hebben om \d\d:\d\d een code gestuurd naar \+31 6 •••• ••03\. Typ die hieronder, samen met uw wachtwoord\./,
    );
    const code = codeIn((await lastSms(phone)).body);
    const wrongCode = await send({ password: user.password, method: "sms", code: code === "000000" ? "000001" : "000000" });
    assert.equal(wrongCode.status, 400);
    assert.match(wrongCode.text, /Die code klopt niet\. Vraag een nieuwe sms-code aan als deze verlopen is\./);
    const confirmed = await send({ password: user.password, method: "sms", code });
    assert.equal(confirmed.headers.location, "/account/security", "the removal it asked for is done at once");
    assert.match(
      (await agent.get("/account/security")).text,
      /role="status">De authenticator-app is van uw account verwijderd\./,
    );
    assert.equal(
      (await lastSms(phone)).body,
      "Portal: de authenticator-app is verwijderd uit uw inloggen in twee stappen. Was u dit niet? Bel dan de praktijk.",
    );
  });

  test("with SMS paused, the confirmation offers the other ways, in the page's language", async () => {
    const phone = "+31612340004";
    const user = await dutchPatient(phone);
    for (let i = 0; i < 6; i += 1) {
      await t.database.db.query(
        `INSERT INTO phone_challenges (token, user_id, purpose, channel, phone_e164, status, created_at, expires_at)
         VALUES ($1, $2, 'login', 'sms', $3, 'expired', $4, $4)`,
        [`account-test-${user.id}-${i}`, user.id, phone, new Date(t.clock.now().getTime() - (6 - i) * 60_000)],
      );
    }
    const { agent } = await t.logIn(user);
    const page = await agent.get("/account/confirm?next=%2Faccount%2Fsecurity");
    const limited = await agent
      .post("/account/confirm/sms")
      .type("form")
      .send({ next: "/account/security", _csrf: csrfFrom(page.text) });
    assert.equal(limited.status, 429);
    assert.match(limited.text, /<h2>Nu op een andere manier bevestigen<\/h2>/);
    assert.match(
      limited.text,
      /<a class="button primary" href="\/account\/confirm\?next=%2Faccount%2Fsecurity">Bevestigen met uw authenticator-app of een herstelcode<\/a>/,
    );
    assert.match(limited.text, /<a href="\/account\/security">Terug naar de beveiligingsinstellingen<\/a>/);

    await t.services.userLocales.saveUserLocale(user.id, "en");
    const english = await agent
      .post("/account/confirm/sms")
      .type("form")
      .send({ next: "/account/security", _csrf: csrfFrom(page.text) });
    assert.match(english.text, />Confirm with your authenticator app or a recovery code<\/a>/);
  });

  test("the password change refuses in Dutch, and tells the phone in Dutch", async () => {
    const phone = "+31612340005";
    const user = await dutchPatient(phone);
    const { agent } = await t.logIn(user);
    const change = (fields: Record<string, string>) => submitForm(agent, "/account/password", "/account/password", fields);
    const missing = await change({ current: "", password: "x", repeat: "x" });
    assert.equal(missing.status, 400);
    assert.match(missing.text, /<a href="#current">Vul uw huidige wachtwoord in\.<\/a>/);
    const mismatch = await change({ current: user.password, password: "een gloednieuwe zin", repeat: "iets anders" });
    assert.match(mismatch.text, /<a href="#repeat">De twee nieuwe wachtwoorden zijn niet hetzelfde\.<\/a>/);
    const wrong = await change({ current: "not my password at all", password: "x", repeat: "x" });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /Uw huidige wachtwoord klopt niet\./);
    const weak = await change({ current: user.password, password: "qwerty123456", repeat: "qwerty123456" });
    assert.match(weak.text, /Dit wachtwoord is een van de meest gebruikte wachtwoorden/);
    const short = await change({ current: user.password, password: "kort", repeat: "kort" });
    assert.match(short.text, /Het wachtwoord moet minstens 12 tekens lang zijn\./);
    const changed = await change({ current: user.password, password: "een gloednieuwe zin", repeat: "een gloednieuwe zin" });
    assert.equal(changed.headers.location, "/account/security");
    assert.match(
      (await agent.get("/account/security")).text,
      /role="status">Uw wachtwoord is gewijzigd\. U bent overal elders uitgelogd\./,
    );
    assert.equal((await lastSms(phone)).body, "Portal: uw wachtwoord is gewijzigd. Was u dit niet? Bel dan de praktijk.");
  });

  test("signing out elsewhere, the method chooser and the last method's refusal are in Dutch", async () => {
    const user = await t.createUser("patient");
    await t.services.userLocales.saveUserLocale(user.id, "nl");
    const { agent } = await t.logIn(user);
    await t.logIn(user);
    await t.logIn(user);
    const ended = await submitForm(agent, "/account/security", "/account/sessions/end-others", {});
    assert.equal(ended.headers.location, "/account/security");
    const security = await agent.get("/account/security");
    assert.match(security.text, /role="status">2 andere sessies zijn uitgelogd\./);
    assert.match(textOf(security.text), /Inloggen in twee stappen staat uit\. Zet het aan, zodat/);
    assert.match(textOf(security.text), /U bent alleen hier ingelogd\./);
    const chooser = await agent.get("/account/2fa");
    assert.match(chooser.text, /<h1>Inloggen in twee stappen aanzetten<\/h1>/);
    assert.match(chooser.text, /<a href="\/account\/security">Terug naar de beveiligingsinstellingen<\/a>/);

    const doctor = await t.createUser("doctor");
    await t.services.userLocales.saveUserLocale(doctor.id, "nl");
    const doctorSession = await t.logIn(doctor);
    const refused = await submitForm(doctorSession.agent, "/account/security", "/account/2fa/app/remove", {});
    assert.equal(refused.status, 403);
    assert.match(
      refused.text,
      /Voor uw rol is inloggen in twee stappen verplicht, dus u kunt uw laatste manier niet verwijderen\./,
    );
  });
});
