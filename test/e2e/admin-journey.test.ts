import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { screenshot, seriousAccessibilityProblems, useJourney, waitForPage } from "../support/browser.js";

const journey = "admin-journey";
const doctor = { email: "doctor@demo.test", password: "stethoscope maple 19", name: "Dr. Eva Visser" };
const admin = { email: "admin@demo.test", password: "windmill stroopwafel 88", name: "Ada Admin" };
const reason = "Lost phone; identity checked by a call back to the practice number";

const portal = useJourney();

const pathOf = (page: Page) => new URL(page.url()).pathname;

// A code at or before the last used 30-second step is refused as a replay, so every code the test
// types comes from a later step than the one before: real time, plus one more step each time.
let stepsAhead = 0;
async function freshCode(secret: string): Promise<string> {
  stepsAhead += 1;
  portal.t.clock.set(new Date());
  portal.t.clock.advanceSeconds(30 * stepsAhead);
  return generateTotpCode(secret, portal.t.clock.now());
}

async function logInWithPassword(page: Page, account: { email: string; password: string }) {
  await page.goto(`${portal.server.baseUrl}/login`);
  await page.getByLabel("Email address").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Password, then "With an authenticator app" and a code computed from the secret. */
async function logInWithApp(page: Page, account: { email: string; password: string }, secret: string, step: string) {
  await logInWithPassword(page, account);
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  await screenshot(page, journey, `${step}a-choose-method`);
  await page.getByRole("link", { name: "With an authenticator app" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/app`);
  await page.getByLabel("6-digit code").fill(await freshCode(secret));
  await screenshot(page, journey, `${step}b-app-code`);
  await page.getByRole("button", { name: "Confirm" }).click();
}

test("an admin resets a doctor's two-step login; the doctor is logged out, sets up a new app and sees their patients", async (check) => {
  // The fake clock stands still; the real browser takes real time. Keep them in step.
  portal.t.clock.set(new Date());

  // ---- Set up: both demo accounts get an authenticator app through the services ----
  const doctorUser = await portal.t.services.users.findUserByEmail(doctor.email);
  const adminUser = await portal.t.services.users.findUserByEmail(admin.email);
  assert.ok(doctorUser && adminUser, "the demo doctor and admin exist");
  const doctorSecret = await portal.t.enrolApp(doctorUser);
  const adminSecret = await portal.t.enrolApp(adminUser);

  // ---- The doctor is logged in, in a browser of their own ----
  const doctorContext = await portal.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const doctorPage = await doctorContext.newPage();
  await logInWithApp(doctorPage, doctor, doctorSecret, "00");
  await waitForPage(doctorPage, `${portal.server.baseUrl}/doctor`);
  assert.equal(await doctorPage.locator("h1").innerText(), "Your patients");
  await screenshot(doctorPage, journey, "01-doctor-patients-before-reset");

  // ---- The admin logs in with their app ----
  const adminContext = await portal.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await adminContext.newPage();
  await logInWithApp(page, admin, adminSecret, "02");
  await waitForPage(page, `${portal.server.baseUrl}/admin`);
  assert.equal(await page.locator("h1").innerText(), "Administration");
  await screenshot(page, journey, "03-admin-home");

  // ---- Users: search for the doctor ----
  await page.getByRole("link", { name: "Users", exact: true }).click();
  await waitForPage(page, `${portal.server.baseUrl}/admin/users`);
  assert.equal(await page.locator("h1").innerText(), "Users");
  await screenshot(page, journey, "04-users");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  const search = page.getByRole("search", { name: "Find users" });
  await search.getByLabel("Name or email contains").fill(doctor.email);
  await search.getByRole("button", { name: "Search" }).click();
  await waitForPage(page, (url) => url.pathname === "/admin/users" && url.searchParams.get("q") === doctor.email);
  assert.match(await page.getByRole("status").innerText(), /^1 user$/);
  const users = page.getByRole("table", { name: "Users" });
  const doctorRow = users.getByRole("row", { name: new RegExp(doctor.name) });
  assert.match(await doctorRow.innerText(), /doctor@demo\.test\s+doctor\s+On\s+Active/);
  await screenshot(page, journey, "05-users-search-doctor");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // ---- The doctor's page: the app is their method, one session is active ----
  await doctorRow.getByRole("link", { name: doctor.name }).click();
  await waitForPage(page, `${portal.server.baseUrl}/admin/users/${doctorUser.id}`);
  assert.equal(await page.locator("h1").innerText(), doctor.name);
  const twoStep = page.locator("section", { has: page.getByRole("heading", { name: "Two-step login", exact: true }) });
  assert.deepEqual(await twoStep.getByRole("listitem").allInnerTexts(), ["With an authenticator app"]);
  const account = page.locator("section", { has: page.getByRole("heading", { name: "Account" }) });
  assert.match(await account.innerText(), /Active sessions\s+1\b/);
  const patients = page.getByRole("table", { name: `Patients of ${doctor.name}` });
  assert.match(await patients.innerText(), /Pat Jansen/);
  assert.match(await patients.innerText(), /Sam de Vries/);
  await screenshot(page, journey, "06-doctor-details");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // ---- Reset: a confirmation step asks first; without a reason it says what is missing ----
  const resetSection = page.locator("section", { has: page.getByRole("heading", { name: "Reset two-step login" }) });
  await resetSection.getByRole("link", { name: "Reset two-step login…" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/admin/users/${doctorUser.id}/reset-2fa`);
  assert.equal(await page.locator("h1").innerText(), "Reset two-step login for Dr. Eva Visser?");
  await screenshot(page, journey, "06b-reset-question");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await page.getByRole("button", { name: "Yes, reset two-step login" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /Give the reason for the reset/);
  assert.match(await page.title(), /^Error: /);
  await check.test("the empty reason field is marked invalid and described by its error", async () => {
    const field = page.getByLabel("Reason (kept in the audit log)");
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    assert.ok(
      (await field.getAttribute("aria-describedby"))?.split(" ").includes("reason-error"),
      "aria-describedby names the error",
    );
    assert.match(await page.locator("#reason-error").innerText(), /Give the reason/);
  });
  await screenshot(page, journey, "07-reset-without-reason");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // Right after login the admin's authentication is fresh: no extra confirmation is asked.
  await page.getByLabel("Reason (kept in the audit log)").fill(reason);
  await screenshot(page, journey, "08-reset-with-reason");
  await page.getByRole("button", { name: "Yes, reset two-step login" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/admin/users/${doctorUser.id}`);
  const confirmation = await page.getByRole("status").innerText();
  assert.match(confirmation, /Two-step login of Dr\. Eva Visser \(doctor@demo\.test\) was reset\./);
  assert.match(confirmation, /Removed: the authenticator app\./);
  assert.match(confirmation, /1 active session(\(s\))? ended\./);
  assert.match(confirmation, /They must set up a new method at their next login\./);
  assert.equal(await page.evaluate<number>("window.scrollY"), 0, "the result at the top is in view");
  assert.match(await twoStep.innerText(), /Methods\s+None/);
  assert.match(await account.innerText(), /Active sessions\s+0\b/);
  const recent = page.getByRole("table", { name: `Recent security events of ${doctor.name}` });
  assert.match(await recent.innerText(), /2fa\.reset/);
  await screenshot(page, journey, "09-reset-done");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // ---- The doctor's session ended at once ----
  await doctorPage.reload();
  assert.equal(pathOf(doctorPage), "/login", "the doctor's old session no longer opens their patient list");
  await screenshot(doctorPage, journey, "10-doctor-logged-out-by-reset");
  // A doctor in the middle of their work lands on an empty login form; the page should say why,
  // as it does after an inactive session ("Your session ended ... Please log in again.").
  await check.test("the login page says that the session ended", async () => {
    const notice = doctorPage.getByRole("status");
    assert.equal(await notice.count(), 1, "a notice on the login page");
    assert.match(await notice.innerText(), /log in again/i);
  });

  // ---- The doctor logs in again and must set up a new method first ----
  await logInWithPassword(doctorPage, doctor);
  await waitForPage(doctorPage, `${portal.server.baseUrl}/enrol`);
  assert.equal(await doctorPage.locator("h1").innerText(), "Set up two-step login");
  assert.match(await doctorPage.locator("main").innerText(), /can see data of several patients/);
  assert.equal(await doctorPage.getByRole("link", { name: "Security" }).count(), 0, "nothing else is reachable yet");
  await screenshot(doctorPage, journey, "11-doctor-must-enrol");
  assert.deepEqual(await seriousAccessibilityProblems(doctorPage), []);

  await doctorPage.getByRole("link", { name: /^Use an authenticator app/ }).click();
  await waitForPage(doctorPage, `${portal.server.baseUrl}/enrol/app`);
  assert.equal(await doctorPage.locator("h1").innerText(), "Set up an authenticator app");
  assert.ok(await doctorPage.getByRole("img", { name: /QR code/ }).isVisible(), "the QR code is shown");
  await screenshot(doctorPage, journey, "12-doctor-app-enrolment");
  await doctorPage.getByText("Can't scan? Use a setup key").click();
  const newSecret = (await doctorPage.locator("code.secret").innerText()).replace(/\s+/g, "");
  assert.match(newSecret, /^[A-Z2-7]{32}$/, "a base32 key of 160 bits");
  assert.notEqual(newSecret, doctorSecret, "a new key, not the one that was reset");

  await doctorPage.getByLabel("6-digit code from the app").fill(await freshCode(newSecret));
  await doctorPage.getByRole("button", { name: "Turn on two-step login" }).click();

  await doctorPage.getByRole("heading", { name: "Your recovery codes" }).waitFor();
  const codes = await doctorPage.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allInnerTexts();
  assert.equal(codes.length, 10);
  await screenshot(doctorPage, journey, "13-doctor-recovery-codes");
  await doctorPage.getByLabel("I have saved these codes somewhere safe").check();
  await doctorPage.getByRole("button", { name: "Continue" }).click();

  // ---- The doctor lands on their patients, where they were going ----
  await waitForPage(doctorPage, `${portal.server.baseUrl}/doctor`);
  assert.match(await doctorPage.getByRole("status").first().innerText(), /Two-step login is on/);
  assert.match(await doctorPage.getByRole("status").first().innerText(), /Add your phone as a back-up/);
  const list = doctorPage.getByRole("table", { name: "Patients linked to you" });
  const names = await list.getByRole("row").allInnerTexts();
  assert.ok(
    names.some((row) => row.includes("Pat Jansen")),
    "Pat Jansen is in the list",
  );
  assert.ok(
    names.some((row) => row.includes("Sam de Vries")),
    "Sam de Vries is in the list",
  );
  await screenshot(doctorPage, journey, "15-doctor-patients-after-new-app");
  await doctorContext.close();

  // ---- The admin finds the reset and its reason in the audit log ----
  await page.goto(`${portal.server.baseUrl}/admin`);
  await page.getByRole("link", { name: "Audit log" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/admin/audit`);
  assert.equal(await page.locator("h1").innerText(), "Audit log");
  const events = page.getByRole("table", { name: "Security events" });
  const resetRow = events.getByRole("row").filter({ hasText: "2fa.reset" });
  assert.equal(await resetRow.count(), 1, "one reset in the log");
  const resetText = await resetRow.innerText();
  assert.match(resetText, /admin@demo\.test/);
  assert.match(resetText, /doctor@demo\.test/);
  assert.ok(resetText.includes(reason), "the reason is shown with the reset");
  await screenshot(page, journey, "16-audit-log");
  await check.test("on a desktop screen the audit log shows every column without scrolling sideways", async () => {
    const scroller = page.locator(".table-scroll", { has: events });
    const { scrollWidth, clientWidth } = await scroller.evaluate((element) => ({
      scrollWidth: element.scrollWidth,
      clientWidth: element.clientWidth,
    }));
    assert.ok(scrollWidth <= clientWidth, `the table is ${scrollWidth}px wide in a ${clientWidth}px box`);
  });

  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download CSV" }).click();
  const download = await downloading;
  assert.match(download.suggestedFilename(), /^audit-log-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = await readFile(await download.path(), "utf8");
  const lines = csv.split("\r\n");
  const resetLines = lines.filter((line) => line.includes(',"2fa.reset",'));
  assert.equal(resetLines.length, 1, "one reset in the CSV");
  assert.match(resetLines[0]!, /,"admin@demo\.test","doctor@demo\.test",/);
  assert.ok(resetLines[0]!.includes(reason), "the CSV keeps the reason");
  await adminContext.close();
});

test("an admin whose browser speaks Dutch gets the user list and a user's page in Dutch", async () => {
  portal.t.clock.set(new Date());
  // A new admin: no language saved yet, so the browser's (nl-NL) decides, and their first login keeps it.
  const dutchAdmin = { email: "beheer@demo.test", password: "grachtenpand fietsbel 2031", name: "Bram Beheer" };
  const user = await portal.t.createUser("admin", dutchAdmin);
  const doctorUser = await portal.t.services.users.findUserByEmail(doctor.email);
  assert.ok(user.totpSecret && doctorUser, "the admin has an app, the demo doctor exists");
  const context = await portal.browser.newContext({ locale: "nl-NL", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  await page.goto(`${portal.server.baseUrl}/login`);
  await page.getByLabel("E-mailadres").fill(dutchAdmin.email);
  await page.getByLabel("Wachtwoord").fill(dutchAdmin.password);
  await page.getByRole("button", { name: "Inloggen" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  // The second step is not what this test is about: straight to the app's code, typed into the form's one field.
  await page.goto(`${portal.server.baseUrl}/login/2fa/app`);
  await page.locator('input[name="code"]').fill(await freshCode(user.totpSecret));
  await page.locator('main form[action="/login/2fa/app"] button[type="submit"]').click();
  await waitForPage(page, `${portal.server.baseUrl}/admin`);
  assert.equal(await page.locator("html").getAttribute("lang"), "nl");
  assert.equal(await page.locator("h1").innerText(), "Beheer");

  // ---- The user list, searched for the demo doctor ----
  await page.getByRole("link", { name: "Gebruikers", exact: true }).click();
  await waitForPage(page, `${portal.server.baseUrl}/admin/users`);
  assert.equal(await page.locator("h1").innerText(), "Gebruikers");
  const search = page.getByRole("search", { name: "Gebruikers zoeken" });
  await search.getByLabel("Naam of e-mail bevat").fill(doctor.email);
  await search.getByRole("button", { name: "Zoeken" }).click();
  await waitForPage(page, (url) => url.pathname === "/admin/users" && url.searchParams.get("q") === doctor.email);
  assert.match(await page.getByRole("status").innerText(), /^1 gebruiker$/);
  const doctorRow = page.getByRole("table", { name: "Gebruikers" }).getByRole("row", { name: new RegExp(doctor.name) });
  assert.match(
    await doctorRow.innerText(),
    /doctor@demo\.test\s+arts\s+(Aan|Uit)\s+Actief\s+(Nooit|\d{1,2} \p{L}+ \d{4} om \d{2}:\d{2})/u,
  );
  await screenshot(page, journey, "20-users-dutch");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // ---- The doctor's page ----
  await doctorRow.getByRole("link", { name: doctor.name }).click();
  await waitForPage(page, `${portal.server.baseUrl}/admin/users/${doctorUser.id}`);
  assert.equal(await page.locator("h1").innerText(), doctor.name);
  const account = page.locator("section", { has: page.getByRole("heading", { name: "Account", exact: true }) });
  assert.match(await account.innerText(), /Rol\s+arts/);
  assert.match(await account.innerText(), /Aangemaakt\s+\d{1,2} \p{L}+ \d{4} om \d{2}:\d{2}/u);
  assert.match(await account.innerText(), /Actieve sessies\s+\d+/);
  await page.getByRole("heading", { name: "Inloggen in twee stappen", exact: true }).waitFor();
  const patients = page.getByRole("table", { name: `Patiënten van ${doctor.name}` });
  assert.match(await patients.innerText(), /Pat Jansen/);
  await page.getByRole("button", { name: "Rol wijzigen" }).waitFor();
  await page.getByRole("heading", { name: "Recente beveiligingsgebeurtenissen" }).waitFor();
  await screenshot(page, journey, "21-doctor-details-dutch");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await context.close();
});
