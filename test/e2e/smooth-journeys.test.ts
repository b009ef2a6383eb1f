import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { screenshot, seriousAccessibilityProblems, useJourney, waitForPage } from "../support/browser.js";

// The journeys of issue 10, one test per group: no dead ends, messages that do not mislead, the
// GOV.UK error pattern (with the app set-up on a phone), and the guidance on the way in.

const portal = useJourney();
const journey = "smooth-journeys";
const patient = { email: "noor@demo.test", password: "dune lighthouse 58" };
const phone = "+31611223344";

async function logInWithPassword(page: Page, account: { email: string; password: string }) {
  await page.goto(`${portal.server.baseUrl}/login`);
  await page.getByLabel("Email address").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
}

async function noorId(): Promise<number> {
  const user = await portal.t.services.users.findUserByEmail(patient.email);
  assert.ok(user);
  return user.id;
}

/** Noor gets an app, a verified phone and recovery codes, directly through the services. */
async function giveNoorEverything(): Promise<string> {
  const id = await noorId();
  const secret = await portal.t.enrolApp({ id, email: patient.email });
  await portal.t.database.db.query(
    `INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())
     ON CONFLICT (user_id) DO NOTHING`,
    [id, phone],
  );
  await portal.t.services.recoveryCodes.regenerateRecoveryCodes(id);
  return secret;
}

const focusedElement = (page: Page) =>
  page.evaluate<{ id: string; isSummary: boolean }>(
    `({ id: document.activeElement?.id ?? "", isSummary: document.activeElement?.hasAttribute("data-error-summary") ?? false })`,
  );

test("dead ends: the send limit offers the app, the lock-out names the end and the practice", async () => {
  portal.t.clock.set(new Date());
  const secret = await giveNoorEverything();
  const id = await noorId();
  // Six messages went out in the last minutes (the limit is 6 per 15 minutes).
  for (let i = 0; i < 6; i += 1) {
    await portal.t.database.db.query(
      `INSERT INTO phone_challenges (token, user_id, purpose, channel, phone_e164, status, created_at, expires_at)
       VALUES ($1, $2, 'login', 'sms', $3, 'expired', $4, $4)`,
      [`test-token-${i}`, id, phone, new Date(portal.t.clock.now().getTime() - (6 - i) * 60_000)],
    );
  }
  const context = await portal.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await logInWithPassword(page, patient);
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  await page.getByRole("button", { name: "By SMS" }).click();
  await page.getByRole("heading", { name: "No more codes or calls for now" }).waitFor();
  const limited = await page.locator("main").innerText();
  assert.match(limited, /until \d\d:\d\d \(Amsterdam time\)/);
  assert.match(limited, /Call the practice on 020 123 4567/);
  await screenshot(page, journey, "01-send-limit-offers-the-app");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // The app, offered on the same page, gets Noor in.
  await page.getByRole("link", { name: "With an authenticator app" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/app`);
  portal.t.clock.advanceSeconds(30);
  await page.getByLabel("6-digit code").fill(await generateTotpCode(secret, portal.t.clock.now()));
  await page.getByRole("button", { name: "Confirm" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  await page.getByRole("button", { name: "Log out" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login?signed_out=1`);

  // Locked after wrong codes: the page names the end and the practice, and offers no way that waits.
  await portal.t.database.db.query("UPDATE users SET second_factor_locked_until = $2 WHERE id = $1", [
    id,
    new Date(portal.t.clock.now().getTime() + 15 * 60_000),
  ]);
  await logInWithPassword(page, patient);
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  await page.getByRole("link", { name: "With an authenticator app" }).click();
  await page.getByLabel("6-digit code").fill("123456");
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.getByRole("heading", { name: "Two-step login is locked" }).waitFor();
  const locked = await page.locator("main").innerText();
  assert.match(locked, /locked until \d\d:\d\d \(Amsterdam time\)/);
  assert.match(locked, /Call the practice on 020 123 4567/);
  assert.equal(await page.getByRole("link", { name: "020 123 4567" }).getAttribute("href"), "tel:+31201234567");
  await screenshot(page, journey, "02-locked-names-the-end-and-the-practice");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await portal.t.database.db.query("UPDATE users SET second_factor_locked_until = NULL WHERE id = $1", [id]);
  await context.close();
});

test("messages: a new code is confirmed, and an early 'I pressed 1' is answered", async () => {
  // Past the 15 minutes of the send limit the first journey reached.
  portal.t.clock.set(new Date(Date.now() + 20 * 60_000));
  await giveNoorEverything();
  const context = await portal.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await logInWithPassword(page, patient);
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  await page.getByRole("button", { name: "By SMS" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/sms`);
  // The countdown is shown but not announced; only reaching 0 is.
  assert.equal(await page.locator(".resend-countdown").getAttribute("aria-live"), null);
  assert.equal(await page.locator(".resend-announcement").textContent(), "");
  portal.t.clock.advanceSeconds(31);
  await page.reload();
  await page.getByRole("button", { name: "Send a new code" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/sms`);
  assert.match(
    await page.getByRole("status").first().innerText(),
    /^We sent a new code to \+31 6 •••• ••44 at \d\d:\d\d\. Only the newest code works\.$/,
  );
  await screenshot(page, journey, "03-new-code-confirmed");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByRole("link", { name: "Choose another method" }).click();
  await page.getByRole("button", { name: "With a phone call" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/call`);
  await page.getByRole("button", { name: "I pressed 1 — continue" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/call`);
  assert.match(await page.getByRole("status").first().innerText(), /No 1 has been received from your phone yet/);
  await screenshot(page, journey, "04-no-1-received-yet");
  await context.close();
});

test("errors: the summary takes focus and leads to the field; the step-up page; the app set-up on a phone", async () => {
  portal.t.clock.set(new Date());
  const context = await portal.browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await page.goto(`${portal.server.baseUrl}/login`);
  await page.getByLabel("Password").fill("something");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").waitFor();
  // The summary is focused by a deferred script: it has run once the document is parsed and
  // DOMContentLoaded fired, not yet when the summary is first visible.
  await page.waitForLoadState("domcontentloaded");
  assert.match(await page.title(), /^Error: Log in/);
  assert.deepEqual(await focusedElement(page), { id: "", isSummary: true }, "focus is on the summary");
  assert.equal(await page.getByLabel("Email address").getAttribute("aria-invalid"), "true");
  await screenshot(page, journey, "05-error-summary");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await page.getByRole("alert").getByRole("link", { name: "Enter your email address." }).click();
  assert.equal((await focusedElement(page)).id, "email", "the link moves focus to the field");

  // A wrong password marks the password field too.
  await page.getByLabel("Email address").fill(patient.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").waitFor();
  assert.equal(await page.getByLabel("Password").getAttribute("aria-invalid"), "true");

  // A patient without a method: the app set-up page on a phone shows the QR code and the folded key first.
  await portal.t.database.db.query("DELETE FROM totp_factors WHERE user_id = $1", [await noorId()]);
  await portal.t.database.db.query("DELETE FROM phone_factors WHERE user_id = $1", [await noorId()]);
  await logInWithPassword(page, patient);
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  await page.goto(`${portal.server.baseUrl}/account/2fa/app`);
  await page.getByRole("img", { name: /QR code/ }).waitFor();
  assert.equal(await page.evaluate<number>("window.scrollY"), 0, "not scrolled past the QR code");
  assert.notEqual((await focusedElement(page)).id, "code", "no focus on the code field");
  const qr = await page.getByRole("img", { name: /QR code/ }).boundingBox();
  const fold = await page.getByText("Can't scan? Use a setup key").boundingBox();
  assert.ok(qr && fold && qr.y + qr.height <= 740 && fold.y + fold.height <= 740, "QR and key fit the first screen");
  assert.equal(await page.locator("code.secret").isVisible(), false, "the key is folded");
  await screenshot(page, journey, "06-app-set-up-on-a-phone");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await page.getByText("Can't scan? Use a setup key").click();
  assert.equal(await page.locator("code.secret").isVisible(), true);
  await screenshot(page, journey, "07-app-set-up-key-open");

  // The step-up page: focus on the password; the code field is made for one-time codes.
  const secret = await portal.t.enrolApp({ id: await noorId(), email: patient.email });
  portal.t.clock.advanceMinutes(6);
  await page.goto(`${portal.server.baseUrl}/account/recovery-codes`);
  await page.getByRole("button", { name: "Create a new set of codes" }).click();
  await page.getByRole("heading", { name: "Confirm it is you" }).waitFor();
  await page.waitForLoadState("domcontentloaded");
  assert.equal((await focusedElement(page)).id, "password");
  assert.match(await page.locator("main").innerText(), /To create a new set of recovery codes/);
  const code = page.getByLabel("Code", { exact: true });
  assert.equal(await code.getAttribute("autocomplete"), "one-time-code");
  assert.equal(await code.getAttribute("inputmode"), "numeric");
  await screenshot(page, journey, "08-step-up");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await page.getByLabel("Password").fill(patient.password);
  portal.t.clock.advanceSeconds(30);
  await code.fill(await generateTotpCode(secret, portal.t.clock.now()));
  await page.getByRole("button", { name: "Confirm" }).click();
  // Confirming finishes what was asked: the new codes, without pressing the button again.
  await waitForPage(page, `${portal.server.baseUrl}/account/recovery-codes/new`);
  assert.equal(await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").count(), 10);
  await screenshot(page, journey, "09-step-up-finished-the-action");
  await context.close();
});

test("guidance: the invitation leads to a chooser, the second method is suggested, addresses read plainly", async () => {
  portal.t.clock.set(new Date());
  const context = await portal.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const outbox = await context.newPage();
  await logInWithPassword(page, { email: "sam@demo.test", password: "canal bicycle 4471" });
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  await page.getByRole("complementary", { name: "Two-step login" }).getByRole("link", { name: "Set it up" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/2fa`);
  assert.ok(await page.getByRole("link", { name: "How does it work?" }).isVisible());
  await screenshot(page, journey, "10-chooser");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByRole("link", { name: "Use my mobile phone (SMS or call)" }).click();
  await page.getByLabel("Mobile phone number").fill("06 55443322");
  await page.getByRole("button", { name: "Send a code to this number" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/2fa/phone/verify`);
  await outbox.goto(`${portal.server.baseUrl}/dev/outbox`);
  // The newest SMS to this number: other journeys in this file moved the clock ahead of this one.
  const sms = await outbox.locator("tr[data-kind=sms]", { hasText: "+31655443322" }).first().locator(".outbox-sms").innerText();
  const host = new URL(portal.t.config.publicBaseUrl).hostname;
  const code = sms.match(/\b(\d{6})\b/)?.[1];
  assert.ok(code);
  assert.ok(sms.includes(`@${host} #${code}`), `the origin-bound line: ${sms}`);
  await page.getByLabel("6-digit code from the SMS").fill(code);
  await page.getByRole("button", { name: "Confirm" }).click();
  // Post/redirect/get: the codes are on a page of their own.
  await waitForPage(page, `${portal.server.baseUrl}/account/recovery-codes/new`);
  await page.getByLabel("I have saved these codes somewhere safe").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  const suggestion = page.locator(".backup-suggestion");
  assert.match(await suggestion.innerText(), /Add an authenticator app as a back-up/);
  const methods = page.getByRole("table", { name: "Your second-step methods" });
  assert.ok(await methods.getByRole("link", { name: "Add an authenticator app" }).isVisible());
  assert.ok(await methods.getByRole("button", { name: "Remove the mobile phone" }).isVisible());
  const activity = await page.getByRole("table", { name: /security events/ }).innerText();
  assert.doesNotMatch(activity, /::ffff:/);
  assert.match(activity, /127\.0\.0\.1/);
  await screenshot(page, journey, "11-security-with-backup-suggestion");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await context.close();
});
