import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { screenshot, seriousAccessibilityProblems, useJourney, waitForPage } from "../support/browser.js";

const portal = useJourney();

const phoneViewport = { width: 390, height: 844 };

/** A pattern matching the text literally ("+31 6 …" holds a "+"). */
const literally = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

async function logInWithPassword(page: Page, email: string, password: string) {
  await page.goto(`${portal.server.baseUrl}/login`);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Logs out with the header button; screenshots the login page it lands on when given a step. */
async function logOut(page: Page, shot?: { journey: string; step: string }) {
  await page.getByRole("button", { name: "Log out" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login?signed_out=1`);
  if (shot) await screenshot(page, shot.journey, shot.step);
}

/** Opens the outbox (in its own tab) and reads the code from the newest text message. */
async function readNewestSmsCode(outbox: Page, to: string): Promise<string> {
  await outbox.goto(`${portal.server.baseUrl}/dev/outbox`);
  const newest = outbox.locator("tr[data-kind=sms]").first();
  assert.match(await newest.innerText(), literally(to), "the newest SMS went to the user's phone");
  const text = await newest.locator(".outbox-sms").innerText();
  const code = text.match(/\b(\d{6})\b/)?.[1];
  assert.ok(code, `a 6-digit code in the newest SMS: ${text}`);
  return code;
}

/** Answers the ringing call in the outbox tab by pressing a key. */
async function answerNewestCall(outbox: Page, to: string, key: "Press 1" | "Press 9") {
  await outbox.goto(`${portal.server.baseUrl}/dev/outbox`);
  const call = outbox.locator("tr[data-kind=call]").first();
  assert.match(await call.innerText(), literally(to));
  assert.match(await call.innerText(), /ringing/);
  await call.getByRole("button", { name: key }).click();
  await waitForPage(outbox, `${portal.server.baseUrl}/dev/outbox`);
  return outbox.locator("tr[data-kind=call]").first();
}

/** The outbox tab, freshly loaded, showing the ringing call with its answer buttons. */
async function outboxBeforeAnswer(outbox: Page): Promise<Page> {
  await outbox.goto(`${portal.server.baseUrl}/dev/outbox`);
  const call = outbox.locator("tr[data-kind=call]").first();
  assert.ok(await call.getByRole("button", { name: "Press 1" }).isVisible());
  assert.ok(await call.getByRole("button", { name: "Press 9" }).isVisible());
  assert.ok(await call.getByRole("button", { name: "Do not answer" }).isVisible());
  return outbox;
}

/**
 * A signed-in patient registers their mobile number from the security settings, confirms it with
 * the code from the outbox and saves the recovery codes. Ends on the security settings.
 */
async function registerPhone(page: Page, outbox: Page, phone: { typed: string; e164: string; masked: string }, journey?: string) {
  const shot = async (target: Page, step: string) => {
    if (journey) await screenshot(target, journey, step);
  };
  await page.getByRole("link", { name: "Security", exact: true }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  await shot(page, "02-security-settings-before");
  await page
    .getByRole("table", { name: "Your second-step methods" })
    .getByRole("row", { name: /Mobile phone/ })
    .getByRole("link", { name: "Add a mobile phone" })
    .click();
  await waitForPage(page, `${portal.server.baseUrl}/account/2fa/phone`);
  await shot(page, "03-phone-number");
  if (journey) assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByLabel("Mobile phone number").fill(phone.typed);
  await page.getByRole("button", { name: "Send a code to this number" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/2fa/phone/verify`);
  assert.match(await page.locator("main").innerText(), literally(`We sent a 6-digit code to ${phone.masked}`));
  await shot(page, "04-phone-verify");
  if (journey) assert.deepEqual(await seriousAccessibilityProblems(page), []);

  const code = await readNewestSmsCode(outbox, phone.e164);
  assert.match(await outbox.locator("tr[data-kind=sms]").first().innerText(), /confirms this phone number/);
  await shot(outbox, "05-outbox-enrolment-sms");

  await page.getByLabel("6-digit code from the SMS").fill(code);
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.getByRole("heading", { name: "Your recovery codes" }).waitFor();
  const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allInnerTexts();
  assert.equal(codes.length, 10);
  await shot(page, "06-recovery-codes");
  await page.getByLabel("I have saved these codes somewhere safe").check();
  await page.getByRole("button", { name: "Continue" }).click();

  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  const phoneRow = page.getByRole("table", { name: "Your second-step methods" }).getByRole("row", { name: /Mobile phone/ });
  assert.match(await phoneRow.innerText(), literally(`${phone.masked}, verified`));
  await shot(page, "07-security-settings-after");
}

test("a patient registers a phone, then logs in by SMS and by a call confirmed with 1", async () => {
  const journey = "phone-journey";
  const phone = { typed: "06 12345678", e164: "+31612345678", masked: "+31 6 •••• ••78" };
  // The fake clock stands still; the real browser takes real time. Keep them in step.
  portal.t.clock.set(new Date());
  const context = await portal.browser.newContext({ viewport: phoneViewport });
  const page = await context.newPage();
  // The outbox plays the user's phone, in a second tab of the same browser.
  const outbox = await context.newPage();

  // ---- Registration ----
  await page.goto(`${portal.server.baseUrl}/login`);
  await screenshot(page, journey, "00-login");
  await logInWithPassword(page, "patient@demo.test", "tulip harbour 2031");
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  await screenshot(page, journey, "01-home");
  await registerPhone(page, outbox, phone, journey);
  await logOut(page, { journey, step: "07b-logged-out" });

  // ---- Login with a code by SMS ----
  portal.t.clock.set(new Date());
  await logInWithPassword(page, "patient@demo.test", "tulip harbour 2031");
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  assert.ok(await page.getByRole("button", { name: "By SMS" }).isVisible());
  assert.ok(await page.getByRole("button", { name: "With a phone call" }).isVisible());
  await screenshot(page, journey, "08-choose-method");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByRole("button", { name: "By SMS" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/sms`);
  assert.match(await page.locator("main").innerText(), literally(`We sent a 6-digit code to ${phone.masked}`));
  await screenshot(page, journey, "09-sms-code");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  const loginCode = await readNewestSmsCode(outbox, phone.e164);
  assert.match(await outbox.locator("tr[data-kind=sms]").first().innerText(), /Your Portal code is \d{6}/);
  await screenshot(outbox, journey, "10-outbox-login-sms");
  await page.getByLabel("6-digit code from the SMS").fill(loginCode);
  await page.getByRole("button", { name: "Confirm" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  assert.match(await page.locator("h1").innerText(), /Welcome, Pat Jansen/);
  await screenshot(page, journey, "11-home-after-sms");
  await logOut(page, { journey, step: "11b-logged-out" });

  // ---- Login with a phone call, confirmed by pressing 1 ----
  portal.t.clock.set(new Date());
  await logInWithPassword(page, "patient@demo.test", "tulip harbour 2031");
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  await screenshot(page, journey, "12-choose-method-again");
  await page.getByRole("button", { name: "With a phone call" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/call`);
  assert.match(await page.locator("main").innerText(), literally(`We are calling ${phone.masked}`));
  assert.match(await page.locator("main").innerText(), /press 1/);
  await screenshot(page, journey, "13-call-waiting");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await screenshot(await outboxBeforeAnswer(outbox), journey, "14-outbox-ringing-call");
  const call = await answerNewestCall(outbox, phone.e164, "Press 1");
  assert.match(await call.innerText(), /1 pressed/);
  await screenshot(outbox, journey, "15-outbox-call-answered");

  // The waiting page asks every 2 seconds how the call stands and moves on by itself.
  await waitForPage(page, `${portal.server.baseUrl}/patient`, { timeout: 15_000 });
  assert.match(await page.locator("h1").innerText(), /Welcome, Pat Jansen/);
  await screenshot(page, journey, "16-home-after-call");
  await logOut(page, { journey, step: "17-logged-out" });
  await context.close();
});

test("pressing 9 on the call refuses the login and tells the user to contact the practice", async () => {
  const journey = "phone-call-refused";
  const phone = { typed: "06 87654321", e164: "+31687654321", masked: "+31 6 •••• ••21" };
  portal.t.clock.set(new Date());
  const context = await portal.browser.newContext({ viewport: phoneViewport });
  const page = await context.newPage();
  const outbox = await context.newPage();

  await logInWithPassword(page, "sam@demo.test", "canal bicycle 4471");
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  await registerPhone(page, outbox, phone);
  await logOut(page);

  portal.t.clock.set(new Date());
  await logInWithPassword(page, "sam@demo.test", "canal bicycle 4471");
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  await screenshot(page, journey, "00-choose-method");
  await page.getByRole("button", { name: "With a phone call" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/call`);
  assert.match(await page.locator("main").innerText(), literally(`We are calling ${phone.masked}`));
  await screenshot(page, journey, "01-call-waiting");
  await screenshot(await outboxBeforeAnswer(outbox), journey, "01b-outbox-ringing-call");

  const call = await answerNewestCall(outbox, phone.e164, "Press 9");
  assert.match(await call.innerText(), /9 pressed/);
  await screenshot(outbox, journey, "02-outbox-call-refused");

  // The waiting page notices by itself and explains what to do.
  const alert = page.getByRole("alert");
  await alert.waitFor({ timeout: 15_000 });
  assert.match(await alert.innerText(), /refused/);
  const nextSteps = await page.locator("main").innerText();
  assert.match(nextSteps, /What happens now/);
  assert.match(nextSteps, /Call the practice on 020 123 4567/);
  assert.equal(new URL(page.url()).pathname, "/login/2fa/call");
  await screenshot(page, journey, "03-call-refused");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // The refused login is over; the way on that works: log in again (password and phone), then the
  // password page.
  await page.getByRole("link", { name: "Log in and change your password" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login?next=%2Faccount%2Fpassword`);
  await screenshot(page, journey, "04-log-in-to-change-the-password");
  await page.goto(`${portal.server.baseUrl}/patient`);
  assert.equal(new URL(page.url()).pathname, "/login", "the refused login did not sign anyone in");
  await context.close();
});
