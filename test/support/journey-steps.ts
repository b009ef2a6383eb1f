import type { Page } from "playwright-core";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { screenshot, waitForPage } from "./browser.js";
import type { FakeClock } from "./clock.js";

// Steps that browser journeys take again and again.

/** Fills in the login form and submits it; the caller waits for where it should lead. */
export async function logInWithPassword(page: Page, baseUrl: string, account: { email: string; password: string }) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel("Email address").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Logs out with the header button and screenshots the login page it lands on. */
export async function logOut(page: Page, baseUrl: string, shot: { journey: string; step: string }) {
  await page.getByRole("button", { name: "Log out" }).click();
  await waitForPage(page, `${baseUrl}/login?signed_out=1`);
  await screenshot(page, shot.journey, shot.step);
}

/**
 * Types a code from the app into the second-step page and confirms. The test's clock follows
 * real time (the browser's), one 30-second step ahead: a code from the step of the enrolment or
 * of an earlier login would be refused as a replay.
 */
export async function confirmWithAppCode(page: Page, clock: FakeClock, secret: string) {
  clock.set(new Date());
  clock.advanceSeconds(30);
  await page.getByLabel("6-digit code").fill(await generateTotpCode(secret, clock.now()));
  await page.getByRole("button", { name: "Confirm" }).click();
}
