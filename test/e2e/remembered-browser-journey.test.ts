import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { screenshot, seriousAccessibilityProblems, useJourney, waitForPage } from "../support/browser.js";
import { confirmWithAppCode, logInWithPassword, logOut } from "../support/journey-steps.js";

const journey = "remembered-browser-journey";
const sam = { email: "sam@demo.test", password: "canal bicycle 4471" };

const portal = useJourney();

const logIn = (page: Page) => logInWithPassword(page, portal.server.baseUrl, sam);
const logOutAt = (page: Page, step: string) => logOut(page, portal.server.baseUrl, { journey, step });

test("a patient ticks 'don't ask again', logs in later with only the password, then forgets the browser", async () => {
  portal.t.clock.set(new Date());
  const user = await portal.t.services.users.findUserByEmail(sam.email);
  assert.ok(user);
  const secret = await portal.t.enrolApp(user);
  const context = await portal.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  // ---- First login: password, app code, and the box ticked ----
  await logIn(page);
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  await page.getByRole("link", { name: "With an authenticator app" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa/app`);
  const remember = page.getByLabel("Don't ask again on this browser for 30 days");
  assert.equal(await remember.isChecked(), false, "not ticked unless the user ticks it");
  await remember.check();
  await screenshot(page, journey, "01-app-code-with-checkbox");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await confirmWithAppCode(page, portal.t.clock, secret);
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  await logOutAt(page, "02-logged-out");
  const kept = (await context.cookies()).find((cookie) => cookie.name === "portal.remember");
  assert.ok(kept, "the logout left the remember cookie");
  assert.equal(kept.httpOnly, true);
  assert.equal(kept.sameSite, "Lax");

  // ---- Second login: the password only ----
  await logIn(page);
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  assert.match(await page.locator("h1").innerText(), /Welcome, Sam de Vries/);
  await screenshot(page, journey, "03-home-after-password-only");

  // ---- The security page lists the browser; forget it ----
  await page.getByRole("link", { name: "Security", exact: true }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  const browsers = page.getByRole("table", { name: "Your remembered browsers" });
  const row = browsers.getByRole("row", { name: /Chrome on Linux/ });
  assert.match(await row.innerText(), /This browser/);
  assert.match(await row.innerText(), /Not yet|\d{2}:\d{2}/);
  const activity = page.getByRole("table", { name: /Your last 20 security events/ });
  assert.match(await activity.innerText(), /Logged in on a remembered browser \(Chrome on Linux\), without the second step/);
  assert.match(await activity.innerText(), /Chrome on Linux remembered: no second step there for 30 days/);
  await screenshot(page, journey, "04-security-remembered-browsers");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await row.getByRole("button", { name: "Forget this browser" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/account/security`);
  assert.match(await page.getByRole("status").first().innerText(), /This browser will ask for the second step again/);
  assert.equal(await page.getByRole("table", { name: "Your remembered browsers" }).count(), 0);
  assert.match(
    await page.getByRole("table", { name: /Your last 20 security events/ }).innerText(),
    /Remembered browser forgotten \(Chrome on Linux\)/,
  );
  await screenshot(page, journey, "05-security-browser-forgotten");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await logOutAt(page, "06-logged-out");

  // ---- Third login: the second step is asked again ----
  await logIn(page);
  await waitForPage(page, `${portal.server.baseUrl}/login/2fa`);
  assert.equal(await page.locator("h1").innerText(), "Second step");
  await screenshot(page, journey, "07-second-step-asked-again");
  await context.close();
});
