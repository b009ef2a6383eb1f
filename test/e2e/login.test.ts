import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot, seriousAccessibilityProblems, useJourney, waitForPage } from "../support/browser.js";

const portal = useJourney();

test("the demo patient logs in, sees their home page and logs out", async () => {
  // The fake clock stands still; the real browser takes real time. Keep them in step.
  portal.t.clock.set(new Date());
  const context = await portal.browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(`${portal.server.baseUrl}/login`);
  await screenshot(page, "login", "01-login-page");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByLabel("Email address").fill("patient@demo.test");
  await page.getByLabel("Password").fill("wrong password here");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /not right/);
  await screenshot(page, "login", "02-wrong-password");

  await page.getByLabel("Password").fill("tulip harbour 2031");
  await page.getByRole("button", { name: "Log in" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/patient`);
  assert.match(await page.locator("h1").innerText(), /Welcome, Pat Jansen/);
  assert.match(await page.locator("main").innerText(), /Dr\. Eva Visser/);
  await screenshot(page, "login", "03-patient-home");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByRole("button", { name: "Log out" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/login?signed_out=1`);
  await screenshot(page, "login", "04-logged-out");
  await page.goto(`${portal.server.baseUrl}/patient`);
  assert.equal(new URL(page.url()).pathname, "/login", "the old session no longer opens the home page");
  await context.close();
});

test("a browser set to Dutch gets the login and help pages in Dutch, and the switch turns them English", async () => {
  portal.t.clock.set(new Date());
  const context = await portal.browser.newContext({ locale: "nl-NL", viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(`${portal.server.baseUrl}/login`);
  assert.equal(await page.locator("html").getAttribute("lang"), "nl");
  await page.getByRole("heading", { name: "Inloggen" }).waitFor();
  await page.getByLabel("E-mailadres").waitFor();
  await screenshot(page, "login", "05-login-page-dutch");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByRole("link", { name: "Hulp bij inloggen in twee stappen" }).click();
  await waitForPage(page, `${portal.server.baseUrl}/help/2fa`);
  await page.getByRole("heading", { name: "Telefoon kwijt of gestolen" }).waitFor();
  assert.match(await page.locator("main").innerText(), /Google Authenticator, Microsoft Authenticator of FreeOTP/);
  await screenshot(page, "login", "06-help-page-dutch");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // The switch comes back to the same page, now in English.
  await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("heading", { name: "A lost or stolen phone" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/help/2fa");
  assert.equal(await page.locator("html").getAttribute("lang"), "en");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await context.close();
});
