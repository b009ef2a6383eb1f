import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import request from "supertest";
import { readCatalogues } from "../../src/i18n.js";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { noRequestContext } from "../../src/services/audit.js";
import { createPatientWithPhone, csrfFrom, startTestApp, type TestApp, type TestUser } from "../support/app.js";
import { createSoftwareAuthenticator } from "../support/software-authenticator.js";

// The second step of a login, setting up a method and the recovery codes, asked for in Dutch:
// every page comes out in Dutch with no English left on it, and the form errors, notices, the
// passkey script's answers and the SMS to an old number are Dutch as well.

let t: TestApp;
before(async () => {
  t = await startTestApp({ env: { PRACTICE_PHONE: "020 123 4567" } });
});
after(() => t.close());

const origin = "http://portal.test";
let phoneCounter = 0;
const nextPhone = () => `+316120${String(++phoneCounter).padStart(5, "0")}`;

/** Every text of a catalogue, by its path. */
function textsOf(value: unknown, prefix = "", into = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === "object") {
    for (const [name, inner] of Object.entries(value)) textsOf(inner, `${prefix}.${name}`, into);
  } else {
    into.set(prefix, String(value));
  }
  return into;
}

/**
 * The English of the catalogues these pages use: each piece between {{placeholders}} of two words
 * or more (single words such as "Passkeys" or "Code" are the same in Dutch). A Dutch text that
 * is still the English one counts as English left on the page.
 */
const englishPieces = (() => {
  const catalogues = readCatalogues();
  const pieces = new Set<string>();
  for (const namespace of ["methods", "twoFactor", "common", "forms"]) {
    for (const english of textsOf(catalogues.en[namespace]).values()) {
      for (const piece of english.split(/\{\{[^}]*\}\}/)) {
        const trimmed = piece.trim();
        if (/\S\s+\S/.test(trimmed)) pieces.add(trimmed);
      }
    }
  }
  return [...pieces];
})();

const decode = (html: string) =>
  html
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/** Asserts the page is in Dutch: <html lang>, its heading, and no English in its main part. */
function assertDutch(page: request.Response, heading: string) {
  const where = heading;
  assert.match(page.text, /<html lang="nl">/, where);
  const main = decode(page.text.slice(page.text.indexOf("<main"), page.text.indexOf("</main>")));
  assert.ok(main.includes(`<h1>${heading}</h1>`), `${where}: the heading`);
  assert.deepEqual(
    englishPieces.filter((piece) => main.includes(piece)),
    [],
    `${where}: English from the catalogues`,
  );
  // What a person reads: the text, and the attributes that are read out or shown by a script.
  const read = [
    main.replace(/<[^>]*>/g, " "),
    ...[...main.matchAll(/\s(?:alt|aria-label|title|data-passkey-(?!options)[\w-]+)="([^"]*)"/g)].map((match) => match[1]),
  ].join(" ");
  assert.deepEqual(read.match(/\b(?:the|your|you|with|from|this|and|please|have)\b/gi) ?? [], [], `${where}: English words`);
}

/** A browser that asks for Dutch on every request; the agent keeps the cookies. */
function dutchBrowser() {
  return request.agent(t.app).set("Accept-Language", "nl-NL,nl;q=0.9");
}

async function passwordStep(user: TestUser) {
  const agent = dutchBrowser();
  const page = await agent.get("/login");
  const response = await agent
    .post("/login")
    .type("form")
    .send({ email: user.email, password: user.password, _csrf: csrfFrom(page.text) });
  return { agent, response };
}

/** Signed in with the app's code, in Dutch. */
async function dutchLogIn(user: TestUser, secret: string) {
  const { agent, response } = await passwordStep(user);
  assert.equal(response.headers.location, "/login/2fa");
  t.clock.advanceSeconds(30);
  const page = await agent.get("/login/2fa/app");
  const done = await agent
    .post("/login/2fa/app")
    .type("form")
    .send({ code: await generateTotpCode(secret, t.clock.now()), _csrf: csrfFrom(page.text) });
  assert.equal(done.status, 303);
  return agent;
}

async function lastSmsTo(phone: string): Promise<string> {
  const { rows } = await t.database.db.query(
    "SELECT body FROM phone_outbox WHERE to_number = $1 AND kind = 'sms' ORDER BY id DESC LIMIT 1",
    [phone],
  );
  return String(rows[0]?.body ?? "");
}

const codeIn = (body: string) => body.match(/\b(\d{6})\b/)?.[1] ?? "";
const otherThan = (code: string) => (code === "000000" ? "111111" : "000000");

/** A code the app does not show now, nor one step before or after. */
async function wrongAppCode(secret: string): Promise<string> {
  const now = t.clock.now().getTime();
  const shown = await Promise.all([-30_000, 0, 30_000].map((offset) => generateTotpCode(secret, new Date(now + offset))));
  return ["000000", "111111", "222222", "333333"].find((code) => !shown.includes(code))!;
}

describe("the second step of a login, in Dutch", () => {
  test("the method choice and the app's page; a wrong code and a malformed one are answered in Dutch", async () => {
    const phone = nextPhone();
    const user = await createPatientWithPhone(t, phone);
    const secret = await t.enrolApp(user);
    const { agent, response } = await passwordStep(user);
    assert.equal(response.headers.location, "/login/2fa");

    const choose = await agent.get("/login/2fa");
    assertDutch(choose, "Tweede stap");
    assert.match(choose.text, /Uw wachtwoord klopte\. Hoe wilt u bevestigen dat u het bent\?/);
    for (const label of ["Met een sms", "Met een telefoontje", "Met een authenticator-app"]) {
      assert.ok(choose.text.includes(`>${label}</`), label);
    }
    assert.match(
      choose.text,
      /<a href="\/login\/2fa\/recovery">Een herstelcode gebruiken<\/a> als u uw telefoon of app niet bij u hebt\./,
    );
    assert.match(
      choose.text,
      /Kunt u geen van deze manieren gebruiken\? Bel de praktijk op <a href="tel:\+31201234567">020 123 4567<\/a>: zij kan uw inloggen in twee stappen terugzetten\./,
    );

    const appPage = await agent.get("/login/2fa/app");
    assertDutch(appPage, "Code uit uw app");
    assert.match(appPage.text, /<label for="code">Code van 6 cijfers<\/label>/);
    const csrf = csrfFrom(appPage.text);

    const wrong = await agent
      .post("/login/2fa/app")
      .type("form")
      .send({ code: await wrongAppCode(secret), _csrf: csrf });
    assert.equal(wrong.status, 400);
    assertDutch(wrong, "Code uit uw app");
    assert.match(wrong.text, /<title>Fout: Code uit uw app · Portal<\/title>/);
    assert.match(wrong.text, /<a href="#code">Die code klopt niet\. U kunt het nog 4 keer proberen\.<\/a>/);

    const malformed = await agent.post("/login/2fa/app").type("form").send({ code: "12ab", _csrf: csrf });
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /<a href="#code">Typ de 6 cijfers uit uw app\.<\/a>/);

    const empty = await agent.post("/login/2fa/app").type("form").send({ code: "", _csrf: csrf });
    assert.match(empty.text, /<a href="#code">Typ de code\.<\/a>/);

    t.clock.advanceSeconds(30);
    const right = await agent
      .post("/login/2fa/app")
      .type("form")
      .send({ code: await generateTotpCode(secret, t.clock.now()), _csrf: csrf });
    assert.equal(right.status, 303, "the Dutch pages still sign in");
  });

  test("the SMS page: the code sent, a new one, one too soon and a wrong one, all in Dutch", async () => {
    const phone = nextPhone();
    const user = await createPatientWithPhone(t, phone);
    const { agent } = await passwordStep(user);
    const choose = await agent.get("/login/2fa");
    const sent = await agent
      .post("/login/2fa/sms/send")
      .type("form")
      .send({ _csrf: csrfFrom(choose.text) });
    assert.equal(sent.headers.location, "/login/2fa/sms");

    const page = await agent.get("/login/2fa/sms");
    assertDutch(page, "Code per sms");
    assert.match(
      page.text,
      /We hebben een code van 6 cijfers gestuurd naar <strong>[^<]+<\/strong>\. De code is 5 minuten geldig\./,
    );
    assert.match(page.text, />Stuur een nieuwe code<\/button>/);
    const csrf = csrfFrom(page.text);

    await agent.post("/login/2fa/sms/send").type("form").send({ _csrf: csrf });
    assert.match(
      (await agent.get("/login/2fa/sms")).text,
      /role="status">Een nieuwe code kan 30 seconden na de vorige worden gestuurd\./,
    );

    t.clock.advanceSeconds(31);
    await agent.post("/login/2fa/sms/send").type("form").send({ _csrf: csrf });
    const resent = await agent.get("/login/2fa/sms");
    assertDutch(resent, "Code per sms");
    assert.match(
      resent.text,
      /role="status">We hebben om \d{2}:\d{2} een nieuwe code gestuurd naar [^<]+\. Alleen de nieuwste code werkt\./,
    );

    const code = codeIn(await lastSmsTo(phone));
    const wrong = await agent
      .post("/login/2fa/sms")
      .type("form")
      .send({ code: otherThan(code), _csrf: csrf });
    assert.equal(wrong.status, 400);
    assertDutch(wrong, "Code per sms");
    assert.match(
      wrong.text,
      /Die code klopt niet\. U kunt het nog 4 keer proberen\. Een code werkt één keer, 5 minuten lang, en alleen de nieuwste code telt\./,
    );
    const right = await agent.post("/login/2fa/sms").type("form").send({ code, _csrf: csrf });
    assert.equal(right.status, 303);
  });

  test("the call page: calling, a call that ran out, no 1 yet, and a login refused with 9", async () => {
    const phone = nextPhone();
    const user = await createPatientWithPhone(t, phone);
    const { agent } = await passwordStep(user);
    const choose = await agent.get("/login/2fa");
    const csrf = csrfFrom(choose.text);
    const callToken = async () => {
      const { rows } = await t.database.db.query(
        "SELECT token FROM phone_challenges WHERE user_id = $1 AND channel = 'call' ORDER BY id DESC LIMIT 1",
        [user.id],
      );
      return String(rows[0]?.token);
    };

    await agent.post("/login/2fa/call/start").type("form").send({ _csrf: csrf });
    const calling = await agent.get("/login/2fa/call");
    assertDutch(calling, "Bevestigen met een telefoontje");
    assert.match(
      calling.text,
      /We bellen <strong>[^<]+<\/strong>\. Neem op en <strong>druk op 1<\/strong> om uw inlog te bevestigen\./,
    );
    assert.match(calling.text, />Ik heb op 1 gedrukt — doorgaan<\/button>/);

    t.clock.advanceSeconds(121);
    const expired = await agent.get("/login/2fa/call");
    assertDutch(expired, "Bevestigen met een telefoontje");
    assert.match(expired.text, /role="alert">Er kwam binnen 2 minuten geen antwoord\.<\/p>/);
    assert.match(expired.text, />Bel opnieuw<\/button>/);

    await agent.post("/login/2fa/call/start").type("form").send({ _csrf: csrf });
    await agent.post("/login/2fa/call/continue").type("form").send({ _csrf: csrf });
    assert.match(
      (await agent.get("/login/2fa/call")).text,
      /role="status">We hebben nog geen 1 van uw telefoon ontvangen\. Neem op en druk op 1/,
    );

    await t.services.phone.answerCall(await callToken(), "9", noRequestContext);
    const refused = await agent.get("/login/2fa/call");
    assertDutch(refused, "Bevestigen met een telefoontje");
    assert.match(refused.text, /Deze inlog is vanaf uw telefoon geweigerd \(er is op 9 gedrukt\), dus er is niemand ingelogd\./);
    assert.match(refused.text, /<h2>Wat er nu gebeurt<\/h2>/);
    const out = await agent.post("/login/2fa/call/continue").type("form").send({ _csrf: csrf });
    assert.equal(out.headers.location, "/login");
    const login = await agent.get("/login");
    assert.match(login.text, /role="status">Deze inlog is vanaf uw telefoon geweigerd \(er is op 9 gedrukt\)/);
  });

  test("a recovery code: its page, a malformed code, the page after, and the codes page", async () => {
    const user = await createPatientWithPhone(t, nextPhone());
    const codes = await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
    const { agent } = await passwordStep(user);
    const page = await agent.get("/login/2fa/recovery");
    assertDutch(page, "Herstelcode");
    const csrf = csrfFrom(page.text);
    const malformed = await agent.post("/login/2fa/recovery").type("form").send({ code: "xyz", _csrf: csrf });
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /<a href="#code">Typ een herstelcode zoals hij is geschreven: 15 letters en cijfers/);

    const used = await agent.post("/login/2fa/recovery").type("form").send({ code: codes[0], _csrf: csrf });
    assert.equal(used.headers.location, "/account/recovery-code-used");
    const landing = await agent.get("/account/recovery-code-used");
    assertDutch(landing, "U bent ingelogd");
    assert.match(landing.text, /U hebt nog <strong>9<\/strong> herstelcodes over\./);

    const codesPage = await agent.get("/account/recovery-codes");
    assertDutch(codesPage, "Herstelcodes");
    assert.match(codesPage.text, /U hebt <strong>9<\/strong> ongebruikte herstelcodes\./);
  });
});

describe("passkeys, in Dutch", () => {
  test("adding one: the page, the script's words, a name refused in Dutch, and the notice after", async () => {
    const user = await t.createUser("patient", { withApp: true });
    await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
    const agent = await dutchLogIn(user, user.totpSecret!);
    const page = await agent.get("/account/2fa/passkey");
    assertDutch(page, "Een passkey toevoegen");
    assert.match(page.text, /data-passkey-cancelled="De passkey-vraag werd gesloten of duurde te lang/);
    const csrf = csrfFrom(page.text);

    const unnamed = await agent
      .post("/account/2fa/passkey/options")
      .type("form")
      .set("Accept", "application/json")
      .send({ name: " ", _csrf: csrf });
    assert.equal(unnamed.status, 400);
    assert.deepEqual(unnamed.body, {
      error: "Geef de passkey een naam van 1 tot 60 tekens, bijvoorbeeld “Laptop van het werk”.",
      field: "name",
    });

    const authenticator = createSoftwareAuthenticator({ origin });
    const started = await agent.post("/account/2fa/passkey/options").type("form").send({ name: "Laptop", _csrf: csrf });
    const finished = await agent
      .post("/account/2fa/passkey")
      .type("form")
      .send({ name: "Laptop", response: JSON.stringify(authenticator.register(started.body.options)), _csrf: csrf });
    assert.deepEqual(finished.body, { redirect: "/account/security" });
    const stored = await t.database.db.query("SELECT sess -> 'notice' AS notice FROM session WHERE user_id = $1", [user.id]);
    assert.deepEqual(stored.rows[0]?.notice, { key: "methods:passkey.enrolled" }, "kept as a key, worded when shown");
    assert.match((await agent.get("/account/security")).text, /role="status">Uw passkey is toegevoegd\./);

    // The login page of a passkey, and the script's answer to an answer that came too late.
    const { agent: login } = await passwordStep(user);
    const loginPage = await login.get("/login/2fa/passkey");
    assertDutch(loginPage, "Uw passkey gebruiken");
    const late = await login
      .post("/login/2fa/passkey")
      .type("form")
      .set("Accept", "application/json")
      .send({ response: "{}", _csrf: csrfFrom(loginPage.text) });
    assert.equal(late.status, 400);
    assert.deepEqual(late.body, {
      error: "De passkey-vraag stond te lang open, of het antwoord is al verstuurd. Probeer het opnieuw.",
    });
  });
});

describe("setting up two-step login, in Dutch", () => {
  test("a doctor's chooser, the app's page with its errors, the phone's pages, the recovery codes and the notice", async () => {
    const doctor = await t.createUser("doctor", { withApp: false });
    const { agent, response } = await passwordStep(doctor);
    assert.equal(response.headers.location, "/enrol");

    const chooser = await agent.get("/enrol");
    assertDutch(chooser, "Inloggen in twee stappen instellen");
    assert.match(chooser.text, /Als arts kunt u gegevens van meerdere patiënten inzien\./);
    assert.match(chooser.text, /Een authenticator-app gebruiken<span data-unless-webauthn> \(aanbevolen\)<\/span><\/a>/);
    assert.match(chooser.text, /<a href="\/help\/2fa">Hoe werkt het\?<\/a>/);

    const appPage = await agent.get("/enrol/app");
    assertDutch(appPage, "Een authenticator-app instellen");
    assert.match(appPage.text, /alt="QR-code om Portal toe te voegen aan uw authenticator-app\./);
    const appCsrf = csrfFrom(appPage.text);
    const empty = await agent.post("/enrol/app").type("form").send({ code: "", _csrf: appCsrf });
    assert.equal(empty.status, 400);
    assert.match(empty.text, /<a href="#code">Typ de code van 6 cijfers uit uw app\.<\/a>/);
    const wrong = await agent.post("/enrol/app").type("form").send({ code: "000000", _csrf: appCsrf });
    assert.equal(wrong.status, 400);
    assertDutch(wrong, "Een authenticator-app instellen");

    const phone = nextPhone();
    const numberPage = await agent.get("/enrol/phone");
    assertDutch(numberPage, "Uw telefoon voor inloggen in twee stappen");
    const noNumber = await agent
      .post("/enrol/phone")
      .type("form")
      .send({ phone: "", _csrf: csrfFrom(numberPage.text) });
    assert.match(noNumber.text, /<a href="#phone">Vul uw mobiele telefoonnummer in\.<\/a>/);
    const asked = await agent
      .post("/enrol/phone")
      .type("form")
      .send({ phone, _csrf: csrfFrom(numberPage.text) });
    assert.equal(asked.headers.location, "/enrol/phone/verify");
    const verify = await agent.get("/enrol/phone/verify");
    assertDutch(verify, "Uw telefoon bevestigen");
    const code = codeIn(await lastSmsTo(phone));
    const wrongCode = await agent
      .post("/enrol/phone/verify")
      .type("form")
      .send({ code: otherThan(code), _csrf: csrfFrom(verify.text) });
    assert.match(wrongCode.text, /Die code klopt niet\. Kijk in de nieuwste sms en probeer het opnieuw\./);
    const proven = await agent
      .post("/enrol/phone/verify")
      .type("form")
      .send({ code, _csrf: csrfFrom(verify.text) });
    assert.equal(proven.headers.location, "/account/recovery-codes/new");

    const codes = await agent.get("/account/recovery-codes/new");
    assertDutch(codes, "Uw herstelcodes");
    assert.match(codes.text, /download="herstelcodes\.txt">Downloaden als tekst<\/a>/);
    assert.ok(
      codes.text.includes(encodeURIComponent(`Herstelcodes voor Portal van ${doctor.email}`)),
      "the file says what it holds, in Dutch",
    );
    const saved = await agent
      .post("/account/recovery-codes/saved")
      .type("form")
      .send({ saved: "yes", _csrf: csrfFrom(codes.text) });
    const home = await agent.get(saved.headers.location!).redirects(2);
    assert.match(
      home.text,
      /role="status">Inloggen in twee stappen staat aan\. Bewaar uw herstelcodes op een veilige plek\. Voeg een authenticator-app toe als reserve in uw beveiligingsinstellingen, zodat u ook zonder mobiel bereik kunt inloggen\./,
    );
  });

  test("a changed number: the old one is told in the language of the page", async () => {
    const oldPhone = nextPhone();
    const user = await createPatientWithPhone(t, oldPhone);
    const secret = await t.enrolApp(user);
    const agent = await dutchLogIn(user, secret);
    const newPhone = nextPhone();
    const page = await agent.get("/account/2fa/phone");
    assertDutch(page, "Uw telefoon voor inloggen in twee stappen");
    assert.match(page.text, /Uw bevestigde nummer is <strong>[^<]+<\/strong>\. Vul een nieuw nummer in/);
    await agent
      .post("/account/2fa/phone")
      .type("form")
      .send({ phone: newPhone, _csrf: csrfFrom(page.text) });
    const verify = await agent.get("/account/2fa/phone/verify");
    const done = await agent
      .post("/account/2fa/phone/verify")
      .type("form")
      .send({ code: codeIn(await lastSmsTo(newPhone)), _csrf: csrfFrom(verify.text) });
    assert.equal(done.status, 303);
    assert.match(
      await lastSmsTo(oldPhone),
      /^Portal: het nummer voor uw inloggen is gewijzigd in een nummer dat eindigt op \d\d\. Was u dit niet\? Bel dan de praktijk\.$/,
    );
    assert.match((await agent.get(done.headers.location!)).text, /role="status">Uw telefoonnummer is bevestigd\./);
  });
});
