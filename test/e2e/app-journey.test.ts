import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { screenshot, seriousAccessibilityProblems, useJourney, waitForPage } from "../support/browser.js";

const journey = "app-journey";
const email = "patient@demo.test";
const password = "tulip harbour 2031";

const portal = useJourney();

const pathOf = (page: Page) => new URL(page.url()).pathname;

async function logInWithPassword(page: Page) {
  await page.goto(`${portal.server.baseUrl}/login`);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Logs out with the header button and screenshots the login page it lands on. */
async function logOut(page: Page, step: string) {
  await page.getByRole("button", { name: "Log out" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login?signed_out=1`);
  await screenshot(page, journey, step);
}

test("a patient sets up an authenticator app, then logs in with its code and with a recovery code", async () => {
  // The fake clock stands still; the real browser takes real time. Keep them in step.
  portal.t.clock.set(new Date());
  const context = await portal.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  // ---- Password only: the home page invites to set up two-step login ----
  await page.goto(`${portal.server.baseUrl}/login`);
  await screenshot(page, journey, "00-login");
  await logInWithPassword(page);
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  await screenshot(page, journey, "01-home-with-invitation");
  const banner = page.getByRole("complementary", { name: "Two-step login" });
  assert.match(await banner.innerText(), /Protect your account with two-step login/);

  // ---- Enrolment: the test reads the key from the page, as someone typing it by hand would ----
  await banner.getByRole("link", { name: "Set it up" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/2fa`);
  await screenshot(page, journey, "01b-choose-a-method");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await page.getByRole("link", { name: "Use an authenticator app (recommended)" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/2fa/app`);
  assert.equal(await page.locator("h1").innerText(), "Set up an authenticator app");
  assert.ok(await page.getByRole("img", { name: /QR code/ }).isVisible(), "the QR code is shown");
  await screenshot(page, journey, "02-app-enrolment");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByText("Can't scan? Use a setup key").click();
  const secret = (await page.locator("code.secret").innerText()).replace(/\s+/g, "");
  assert.match(secret, /^[A-Z2-7]{32}$/, "a base32 key of 160 bits");

  // A wrong code first: the page says so and keeps the same key.
  await page.getByLabel("6-digit code from the app").fill("000000");
  await page.getByRole("button", { name: "Turn on two-step login" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /not right/);
  assert.equal((await page.locator("code.secret").textContent())?.replace(/\s+/g, ""), secret, "the same key after a wrong code");
  await screenshot(page, journey, "03-app-enrolment-wrong-code");

  portal.t.clock.set(new Date());
  await page.getByLabel("6-digit code from the app").fill(await generateTotpCode(secret, portal.t.clock.now()));
  await page.getByRole("button", { name: "Turn on two-step login" }).click();

  // ---- Recovery codes: shown once, downloadable, "Continue" only once saved ----
  await page.getByRole("heading", { name: "Your recovery codes" }).waitFor();
  const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allInnerTexts();
  assert.equal(codes.length, 10);
  for (const code of codes) assert.match(code, /^[a-z0-9]{5}-[a-z0-9]{5}-[a-z0-9]{5}$/);
  assert.equal(new Set(codes).size, 10, "the codes are all different");
  await screenshot(page, journey, "04-recovery-codes");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download as text" }).click();
  const download = await downloading;
  assert.equal(download.suggestedFilename(), "recovery-codes.txt");
  const file = await download.path();
  const text = await readFile(file, "utf8");
  for (const code of codes) assert.ok(text.includes(code), `the downloaded file holds ${code}`);
  assert.match(text, new RegExp(email.replace(/[.]/g, "\\.")), "the file says which account the codes are for");

  const continueButton = page.getByRole("button", { name: "Continue" });
  assert.equal(await continueButton.isDisabled(), true, "Continue waits until the codes are saved");
  await page.getByLabel("I have saved these codes somewhere safe").check();
  assert.equal(await continueButton.isEnabled(), true);
  await screenshot(page, journey, "05-recovery-codes-saved");
  await continueButton.click();

  // ---- Security settings: the app is set up, 10 codes left ----
  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  assert.match(await page.getByRole("status").first().innerText(), /Two-step login is on/);
  const methods = page.getByRole("table", { name: "Your second-step methods" });
  const appRow = methods.getByRole("row", { name: /Authenticator app/ });
  assert.match(await appRow.innerText(), /Set up \d/);
  assert.doesNotMatch(await appRow.innerText(), /Not set up/);
  assert.match(await methods.getByRole("row", { name: /Recovery codes/ }).innerText(), /10 left/);
  await screenshot(page, journey, "06-security-settings");

  await page.goto(`${portal.server.baseUrl}/patient`);
  assert.equal(
    await page.getByRole("complementary", { name: "Two-step login" }).count(),
    0,
    "no more invitation once two-step login is on",
  );
  await screenshot(page, journey, "07-home-without-invitation");
  await logOut(page, "08-logged-out");

  // ---- Second login: password, then a fresh code from the app ----
  await logInWithPassword(page);
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  assert.equal(await page.locator("h1").innerText(), "Second step");
  await screenshot(page, journey, "09-choose-method");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByRole("link", { name: "With an authenticator app" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/app`);
  await screenshot(page, journey, "10-app-code");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // The enrolment used the current 30-second step; a code from it would be refused as a replay.
  portal.t.clock.set(new Date());
  portal.t.clock.advanceSeconds(30);
  await page.getByLabel("6-digit code").fill(await generateTotpCode(secret, portal.t.clock.now()));
  await page.getByRole("button", { name: "Confirm" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  assert.match(await page.locator("h1").innerText(), /Welcome, Pat Jansen/);
  await screenshot(page, journey, "11-home-after-app-code");
  await logOut(page, "11b-logged-out");

  // ---- Third login: a recovery code instead of the app ----
  await logInWithPassword(page);
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  assert.equal(
    await page.getByRole("link", { name: "With an authenticator app" }).getAttribute("class"),
    "button primary",
    "the method used last is suggested",
  );
  await screenshot(page, journey, "12-choose-method-again");
  await page.getByRole("link", { name: "Use a recovery code" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/recovery`);
  await screenshot(page, journey, "13-recovery-code");
  await page.getByLabel("Recovery code").fill(codes[3]!.toUpperCase());
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.getByRole("heading", { name: "You are logged in" }).waitFor();
  assert.match(await page.getByRole("status").innerText(), /You have 9 recovery codes left\./);
  await screenshot(page, journey, "14-recovery-code-used");

  await page.getByRole("link", { name: "Continue" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  assert.match(await page.locator("h1").innerText(), /Welcome, Pat Jansen/);
  await screenshot(page, journey, "15-home-after-recovery-code");

  await page.getByRole("link", { name: "Security", exact: true }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  const methodsNow = page.getByRole("table", { name: "Your second-step methods" });
  assert.match(await methodsNow.getByRole("row", { name: /Recovery codes/ }).innerText(), /9 left/);
  await screenshot(page, journey, "16-security-settings-9-left");
  await logOut(page, "17-logged-out");
  assert.equal(pathOf(page), "/login");
  await context.close();
});

test("in Dutch: the security settings and the confirmation before removing the app", async () => {
  // Noor has never chosen a language: her browser asks for Dutch, so her first login saves it.
  portal.t.clock.set(new Date());
  const noor = await portal.t.services.users.findUserByEmail("noor@demo.test");
  assert.ok(noor);
  const secret = await portal.t.enrolApp(noor);
  const context = await portal.browser.newContext({ locale: "nl-NL", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${portal.server.baseUrl}/login`);
  await page.getByLabel("E-mailadres").fill("noor@demo.test");
  await page.getByLabel("Wachtwoord").fill("dune lighthouse 58");
  await page.getByRole("button", { name: "Inloggen" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  // The second step by its address and field, whatever language its own pages speak.
  await page.goto(`${portal.server.baseUrl}/login/2fa/app`);
  portal.t.clock.set(new Date());
  portal.t.clock.advanceSeconds(30);
  await page.locator("#code").fill(await generateTotpCode(secret, portal.t.clock.now()));
  await page.locator("#code").press("Enter");
  await waitForPage(page, `${portal.server.baseUrl}/patient`);

  // ---- The security settings, in Dutch ----
  await page.getByRole("link", { name: "Beveiliging", exact: true }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  assert.equal(await page.locator("html").getAttribute("lang"), "nl");
  await page.getByRole("heading", { name: "Beveiligingsinstellingen", level: 1 }).waitFor();
  const main = await page.locator("main").innerText();
  assert.match(main, /Inloggen in twee stappen staat aan\./);
  assert.match(main, /de manier voor die u het laatst hebt gebruikt: de authenticator-app\./);
  assert.doesNotMatch(main, /Security settings|Two-step login is|Sign out everywhere else|Recent security activity/);
  const methods = page.getByRole("table", { name: "Uw manieren voor de tweede stap" });
  assert.match(
    await methods.getByRole("row", { name: /Authenticator-app/ }).innerText(),
    /Ingesteld op \d+ [a-z]+ \d{4} om \d\d:\d\d/,
  );
  assert.ok(await methods.getByRole("link", { name: "De authenticator-app vervangen" }).isVisible());
  const activity = page.getByRole("table", { name: "Uw laatste 20 beveiligingsgebeurtenissen, nieuwste eerst" });
  assert.match(await activity.innerText(), /Ingelogd met de authenticator-app/);
  const pageSwitch = page.locator('form[aria-labelledby="security-language-label"]');
  assert.equal(await pageSwitch.getByRole("button", { name: "Nederlands" }).getAttribute("aria-current"), "true");
  await screenshot(page, journey, "18-security-settings-dutch");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // ---- Removing the app after 5 minutes: the confirmation asks first, in Dutch ----
  portal.t.clock.advanceMinutes(6);
  await methods.getByRole("button", { name: "De authenticator-app verwijderen" }).click();
  await page.getByRole("heading", { name: "Bevestig dat u het bent" }).waitFor();
  assert.equal(pathOf(page), "/account/confirm");
  assert.match(
    await page.locator("main").innerText(),
    /U wilt de authenticator-app verwijderen\. Bevestig daarvoor uw wachtwoord en een code\. Daarna gebeurt het meteen\./,
  );
  assert.equal(await page.getByLabel("Waar de code vandaan komt").inputValue(), "app");
  assert.match((await page.getByLabel("Code", { exact: true }).getAttribute("aria-describedby")) ?? "", /code-hint/);
  await screenshot(page, journey, "19-confirm-dutch");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByLabel("Wachtwoord").fill("not the password");
  await page.getByLabel("Code", { exact: true }).fill("123456");
  await page.getByRole("button", { name: "Bevestigen" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.title(), /^Fout: Bevestig dat u het bent/);
  assert.match(await page.getByRole("alert").innerText(), /Dat wachtwoord klopt niet\./);
  await screenshot(page, journey, "20-confirm-wrong-password-dutch");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByLabel("Wachtwoord").fill("dune lighthouse 58");
  portal.t.clock.advanceSeconds(30);
  await page.getByLabel("Code", { exact: true }).fill(await generateTotpCode(secret, portal.t.clock.now()));
  await page.getByRole("button", { name: "Bevestigen" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  assert.match(await page.getByRole("status").first().innerText(), /De authenticator-app is van uw account verwijderd\./);
  assert.match(await page.locator("main").innerText(), /Inloggen in twee stappen staat uit\./);
  await screenshot(page, journey, "21-security-app-removed-dutch");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // ---- The page's own switch turns it English, and saves the choice ----
  await pageSwitch.getByRole("button", { name: "English" }).click();
  await page.getByRole("heading", { name: "Security settings", level: 1 }).waitFor();
  assert.equal(pathOf(page), "/account/security");
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  const { rows } = await portal.t.database.db.query("SELECT locale FROM users WHERE id = $1", [noor.id]);
  assert.equal(rows[0]?.locale, "en");
  await context.close();
});
