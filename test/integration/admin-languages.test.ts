import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type HTMLElement, parse } from "node-html-parser";
import type request from "supertest";
import { locales, readCatalogues } from "../../src/i18n.js";
import { noRequestContext } from "../../src/services/audit.js";
import { startTestApp, submitForm, type TestApp, type TestUser } from "../support/app.js";

// The administration in Dutch: an admin whose saved language is Dutch gets the user list, a
// user's page, the reset question, the new-user form and the audit log in Dutch — their form
// errors, refusals and notices included — with dates in Dutch and no English left on the page.
// The CSV export keeps its ISO timestamps.

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

// ---- What counts as English left on a page ----

type Leaves = Map<string, string>;
function leavesOf(value: unknown, prefix: string, into: Leaves = new Map()): Leaves {
  if (value !== null && typeof value === "object") {
    for (const [name, inner] of Object.entries(value)) leavesOf(inner, prefix ? `${prefix}.${name}` : name, into);
  } else into.set(prefix, String(value));
  return into;
}
const catalogues = readCatalogues();
const leaves = Object.fromEntries(locales.map((locale) => [locale, leavesOf(catalogues[locale], "")])) as Record<
  (typeof locales)[number],
  Leaves
>;
const wordsIn = (text: string) => (text.match(/\p{L}+/gu) ?? []).map((word) => word.toLowerCase());

/** Every word of the Dutch catalogues: a word that is also Dutch ("status", "account") is not English left over. */
const dutchWords = new Set([...leaves.nl.values()].flatMap(wordsIn));
/** Words of the English catalogues that Dutch never uses. */
const englishOnlyWords = new Set([...leaves.en.values()].flatMap(wordsIn).filter((word) => !dutchWords.has(word)));
/** The English catalogue's phrases of two words or more (between placeholders) whose Dutch differs. */
const englishPhrases = [...leaves.en]
  .filter(([key, english]) => leaves.nl.get(key) !== english)
  .flatMap(([, english]) => english.split(/\{\{[^}]*\}\}/).map((part) => part.trim()))
  .filter((part) => wordsIn(part).length >= 2);

/**
 * What a reader sees of the page, without the data that is not words of the portal: the event
 * types (in <code>, and as the audit filter's options, which show the code they send) and the
 * audit details' field names (codes, as the CSV has them), the language switch's own "English"
 * and the portal's name (PORTAL_NAME).
 */
function readableText(html: string): string {
  const page = parse(html);
  for (const element of page.querySelectorAll("code, .admin-detail, script, [lang=en]")) element.remove();
  for (const option of page.querySelectorAll("option")) if (option.text === option.getAttribute("value")) option.remove();
  const title = page.querySelector("title")?.text ?? "";
  const labels = page
    .querySelectorAll("[aria-label], [title]")
    .map((element: HTMLElement) => `${element.getAttribute("aria-label") ?? ""} ${element.getAttribute("title") ?? ""}`);
  return [title, page.querySelector("body")?.text ?? "", ...labels]
    .join("\n")
    .replaceAll(t.config.portalName, " ")
    .replace(/\s+/g, " ");
}

/** English found on a page: phrases from the English catalogue, words only English uses, catalogue keys. */
function englishLeftOn(html: string): string[] {
  const text = readableText(html);
  const phrases = englishPhrases.filter((phrase) => text.includes(phrase));
  const words = [...new Set(wordsIn(text).filter((word) => englishOnlyWords.has(word)))];
  const keys = text.match(/\b[a-z][A-Za-z]*:[a-z][\w]*\.[\w.]+/g) ?? [];
  return [...phrases, ...words, ...keys];
}

function assertDutch(response: request.Response, page: string) {
  assert.match(response.text, /<html lang="nl">/, `${page} is in Dutch`);
  assert.deepEqual(englishLeftOn(response.text), [], `${page}: no English left`);
}

const textOf = (html: string, selector: string) => (parse(html).querySelector(selector)?.text ?? "").replace(/\s+/g, " ").trim();
const dutchDateTime =
  /\d{1,2} (januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4} om \d{2}:\d{2}/;

// ---- The people: Dutch names and addresses, so that no English comes in with the data ----

let counter = 0;
function person(first: string) {
  counter += 1;
  return { name: `${first} Bakker`, email: `${first.toLowerCase()}.bakker${counter}@praktijk.nl` };
}

/** An admin who chose Dutch, signed in: every admin page is in Dutch for them. */
async function dutchAdmin(): Promise<{ admin: TestUser; agent: request.Agent }> {
  const admin = await t.createUser("admin", person("Anouk"));
  const { agent, response } = await t.logIn(admin);
  assert.equal(response.headers.location, "/", "the admin is fully signed in");
  await t.services.userLocales.saveUserLocale(admin.id, "nl");
  return { admin, agent };
}

describe("the admin pages in Dutch", () => {
  test("the admin home and the user list, with its filters, count, roles and dates", async () => {
    const { agent } = await dutchAdmin();
    const doctor = await t.createUser("doctor", person("Joost"));
    await t.logIn(doctor);

    const home = await agent.get("/admin");
    assertDutch(home, "/admin");
    assert.equal(textOf(home.text, "h1"), "Beheer");

    const list = await agent.get("/admin/users").query({ q: doctor.email });
    assert.equal(list.status, 200);
    assertDutch(list, "/admin/users");
    assert.equal(textOf(list.text, "h1"), "Gebruikers");
    assert.match(list.text, /<label for="q">Naam of e-mail bevat<\/label>/);
    assert.match(list.text, /<option value="doctor">arts<\/option>/);
    assert.equal(textOf(list.text, "[role=status]"), "1 gebruiker");
    const row = textOf(list.text, "tbody tr");
    assert.match(row, /Joost Bakker/);
    assert.match(row, /\barts Aan Actief\b/);
    assert.match(row, dutchDateTime, "the last login in Dutch");
  });

  test("a filter that is not right is explained in Dutch", async () => {
    const { agent } = await dutchAdmin();
    const wrong = await agent.get("/admin/users").query({ role: "koning" });
    assert.equal(wrong.status, 400);
    assertDutch(wrong, "/admin/users?role=koning");
    assert.match(textOf(wrong.text, "title"), /^Fout: /);
    assert.match(textOf(wrong.text, "#role-error"), /Onbekende rol\./);
  });

  test("a doctor's page: account, two-step login, a lock, a refused call, patients and events", async () => {
    const { agent } = await dutchAdmin();
    const doctor = await t.createUser("doctor", person("Joost"));
    const patient = await t.createUser("patient", person("Fenna"));
    await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
    await t.services.recoveryCodes.regenerateRecoveryCodes(doctor.id);
    await t.logIn(doctor);
    const future = new Date(t.clock.now().getTime() + 60 * 60_000);
    await t.database.db.query("UPDATE users SET failed_login_count = 6, login_blocked_until = $2 WHERE id = $1", [
      doctor.id,
      future,
    ]);
    await t.services.audit.recordEvent(
      { type: "2fa.call_denied", actorUserId: doctor.id, subjectUserId: doctor.id },
      noRequestContext,
    );

    const page = await agent.get(`/admin/users/${doctor.id}`);
    assert.equal(page.status, 200);
    assertDutch(page, "a doctor's page");
    assert.match(page.text, /<dt>Rol<\/dt><dd>arts<\/dd>/);
    assert.match(page.text, /<li>Met een authenticator-app<\/li>/);
    assert.match(page.text, /<dt>Herstelcodes over<\/dt><dd>10<\/dd>/);
    assert.match(page.text, /<dt>Actieve sessies<\/dt><dd>1<\/dd>/);
    assert.match(textOf(page.text, ".admin-flag"), /één keer op 9 gedrukt/);
    assert.match(page.text, /Geblokkeerd/);
    const blocked = page.text.match(/<dt>Inloggen geblokkeerd tot<\/dt><dd>([^<]*)<\/dd>/)?.[1] ?? "";
    assert.match(blocked, dutchDateTime);
    assert.match(blocked, /\(na 6 verkeerde wachtwoorden\)/);
    assert.match(page.text, /<caption class="visually-hidden">Patiënten van Joost Bakker<\/caption>/);
    assert.match(page.text, /<label for="patient">Patiënt koppelen \(e-mailadres of gebruikersnummer\)<\/label>/);
    assert.match(page.text, /Als arts moet de gebruiker bij de volgende keer inloggen een nieuwe manier instellen\./);
    const events = parse(page.text)
      .querySelectorAll("table")
      .find((table) => table.querySelector("caption")?.text === "Recente beveiligingsgebeurtenissen van Joost Bakker");
    assert.match(
      events?.text.replace(/\s+/g, " ") ?? "",
      /Gemeld: niet ikzelf Inlog geweigerd via de telefoon \(op 9 gedrukt\)/,
      "the events in words, flagged",
    );
  });

  test("an action's notice and a refusal are in Dutch", async () => {
    const { admin, agent } = await dutchAdmin();
    const doctor = await t.createUser("doctor", person("Joost"));
    await t.logIn(doctor);

    const disabled = await submitForm(agent, `/admin/users/${doctor.id}`, `/admin/users/${doctor.id}/disable`, {});
    assert.equal(disabled.status, 303);
    const page = await agent.get(disabled.headers.location!);
    assertDutch(page, "the page after disabling");
    assert.equal(textOf(page.text, "[role=status]"), "Het account is uitgeschakeld; 1 actieve sessie is beëindigd.");
    assert.match(textOf(page.text, "dd .admin-tag-off"), /^Uitgeschakeld$/);

    const role = await submitForm(agent, `/admin/users/${doctor.id}`, `/admin/users/${doctor.id}/role`, { role: "patient" });
    assert.equal(role.status, 303);
    const changed = await agent.get(role.headers.location!);
    assert.match(textOf(changed.text, "[role=status]"), /^De rol is gewijzigd van arts naar patiënt\./);

    const unknown = await submitForm(agent, `/admin/users/${doctor.id}`, `/admin/users/${doctor.id}/doctors`, {
      doctor: "niemand@praktijk.nl",
    });
    assert.equal(unknown.status, 400);
    assertDutch(unknown, "an unknown doctor");
    assert.match(textOf(unknown.text, "#doctor-error"), /Er is geen account met dat e-mailadres of nummer\./);

    const own = await submitForm(agent, `/admin/users/${admin.id}`, `/admin/users/${admin.id}/reset-2fa`, {
      reason: "test",
    });
    assert.equal(own.status, 403);
    assertDutch(own, "resetting one's own factor");
    assert.match(own.text, /U kunt uw eigen tweede stap niet terugzetten\. Vraag een andere beheerder, of beheer uw manieren/);
    const ownQuestion = await agent.get(`/admin/users/${admin.id}/reset-2fa`);
    assert.equal(ownQuestion.status, 403);
    assertDutch(ownQuestion, "the reset question for one's own factor");
    assert.match(ownQuestion.text, /U kunt uw eigen tweede stap niet terugzetten\. Vraag een andere beheerder\./);
  });

  test("the new-user form, its errors and the notice when the account is made", async () => {
    const { agent } = await dutchAdmin();
    const existing = await t.createUser("patient", person("Sanne"));
    const form = await agent.get("/admin/users/new");
    assertDutch(form, "/admin/users/new");
    assert.equal(textOf(form.text, "h1"), "Nieuwe gebruiker");

    const fresh = person("Wouter");
    const fields = { ...fresh, role: "patient", password: "tulpen molen 2031 blauw", passwordRepeat: "tulpen molen 2031 blauw" };
    const differ = await submitForm(agent, "/admin/users/new", "/admin/users/new", { ...fields, passwordRepeat: "iets anders" });
    assert.equal(differ.status, 400);
    assertDutch(differ, "passwords that differ");
    assert.match(textOf(differ.text, "#passwordRepeat-error"), /De twee wachtwoorden zijn niet gelijk\./);
    const taken = await submitForm(agent, "/admin/users/new", "/admin/users/new", { ...fields, email: existing.email });
    assert.match(textOf(taken.text, "#email-error"), /Er bestaat al een account met dit e-mailadres\./);
    const invisible = await submitForm(agent, "/admin/users/new", "/admin/users/new", { ...fields, name: "Wouter\u0000" });
    assert.match(textOf(invisible.text, "#name-error"), /“Naam” bevat een onzichtbaar stuurteken/);

    const created = await submitForm(agent, "/admin/users/new", "/admin/users/new", fields);
    assert.equal(created.status, 303);
    const page = await agent.get(created.headers.location!);
    assertDutch(page, "the new user's page");
    assert.match(textOf(page.text, "[role=status]"), /^Het account van Wouter Bakker is aangemaakt\./);
    assert.match(page.text, /Moet bij de volgende keer inloggen worden gewijzigd/);
  });

  test("the reset: the question, a missing reason, and what was done", async () => {
    const { agent } = await dutchAdmin();
    const doctor = await t.createUser("doctor", person("Joost"));
    await t.services.recoveryCodes.regenerateRecoveryCodes(doctor.id);
    await t.logIn(doctor);
    const resetPath = `/admin/users/${doctor.id}/reset-2fa`;

    const question = await agent.get(resetPath);
    assert.equal(question.status, 200);
    assertDutch(question, "the reset question");
    assert.equal(textOf(question.text, "h1"), "Inloggen in twee stappen terugzetten voor Joost Bakker?");
    assert.match(question.text, /verwijdert 10 ongebruikte herstelcodes/);
    assert.match(question.text, /beëindigt meteen de 1 actieve sessie\./);

    const empty = await submitForm(agent, resetPath, resetPath, { reason: "" });
    assert.equal(empty.status, 400);
    assertDutch(empty, "a reset without a reason");
    assert.match(textOf(empty.text, "#reason-error"), /Geef de reden voor het terugzetten/);

    const done = await submitForm(agent, resetPath, resetPath, { reason: "Telefoon kwijt, teruggebeld" });
    assert.equal(done.status, 303);
    const page = await agent.get(done.headers.location!);
    assertDutch(page, "the page after the reset");
    const notice = textOf(page.text, "[role=status]");
    assert.match(notice, /^Inloggen in twee stappen van Joost Bakker \(joost\.bakker\d+@praktijk\.nl\) is teruggezet\./);
    assert.match(notice, /1 actieve sessie is beëindigd\./);
    assert.match(notice, /De gebruiker moet bij de volgende keer inloggen een nieuwe manier instellen\./);
  });

  test("the audit log in Dutch; the CSV keeps ISO timestamps", async () => {
    const { agent } = await dutchAdmin();
    const patient = await t.createUser("patient", person("Femke"));
    await t.services.admin.resetSecondFactor(null, patient.id, "Nieuwe telefoon", noRequestContext);

    const log = await agent.get("/admin/audit").query({ user: patient.email });
    assert.equal(log.status, 200);
    assertDutch(log, "/admin/audit");
    assert.equal(textOf(log.text, "h1"), "Auditlog");
    assert.match(textOf(log.text, "[role=status]"), /^\d+ gebeurtenis(sen)?, nieuwste eerst$/);
    assert.match(log.text, /Inloggen in twee stappen teruggezet door de praktijk/);
    assert.match(log.text, /<p class="admin-reason">Reden: Nieuwe telefoon<\/p>/);
    assert.match(textOf(log.text, "tbody time"), dutchDateTime);

    const badDate = await agent.get("/admin/audit").query({ from: "gisteren" });
    assert.equal(badDate.status, 400);
    assertDutch(badDate, "a date that is not a date");
    assert.match(textOf(badDate.text, "#from-error"), /Vul datums in zoals 2026-03-31\./);
    const reversed = await agent.get("/admin/audit").query({ from: "2026-03-02", to: "2026-03-01" });
    assert.match(reversed.text, /De begindatum ligt na de einddatum\./);

    const invisible = await agent.get("/admin/audit.csv").query({ user: "a\u0000" });
    assert.equal(invisible.status, 400);
    assertDutch(invisible, "a CSV asked for with an invisible character");
    assert.match(invisible.text, /“Gebruiker” bevat een onzichtbaar stuurteken/);

    const csv = await agent.get("/admin/audit.csv").query({ user: patient.email });
    assert.equal(csv.status, 200);
    const resetLine = csv.text.split("\r\n").find((line) => line.includes('"2fa.reset"'));
    assert.ok(resetLine, "the reset is in the CSV");
    assert.match(resetLine, /^"?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z"?,/, "an ISO timestamp in UTC");
  });
});
