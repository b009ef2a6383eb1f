import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startTestApp, type TestApp, type TestUser } from "../support/app.js";
import { launchChromium, screenshot, seriousAccessibilityProblems, waitForPage } from "../support/browser.js";
import { confirmWithAppCode, logInWithPassword, logOut } from "../support/journey-steps.js";

// A patient adds a passkey in Chromium (a virtual authenticator through the DevTools protocol, as
// a laptop's fingerprint reader would be) and logs in with it. A passkey belongs to a host name,
// and WebAuthn takes none that is an IP address: the portal is served as http://localhost:<port>,
// and PUBLIC_BASE_URL says so.

const journey = "passkey-journey";

let t: TestApp;
let server: Server;
let browser: Browser;
let baseUrl: string;

before(async () => {
  // The port is known before the app is built, so that PUBLIC_BASE_URL can name it.
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://localhost:${(server.address() as AddressInfo).port}`;
  t = await startTestApp({ env: { PHONE_GATEWAY: "outbox", PUBLIC_BASE_URL: baseUrl } });
  server.on("request", t.app);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t?.close();
});

/** The password, then the authenticator app's code: signed in on the patient's home page. */
async function logInWithApp(page: Page, user: TestUser) {
  await logInWithPassword(page, baseUrl, user);
  await waitForPage(page, `${baseUrl}/login/2fa`);
  await page.getByRole("link", { name: "With an authenticator app" }).click();
  await waitForPage(page, `${baseUrl}/login/2fa/app`);
  await confirmWithAppCode(page, t.clock, user.totpSecret!);
  await waitForPage(page, `${baseUrl}/patient`);
}

/** A platform authenticator with user verification, like a laptop's fingerprint reader. */
async function addVirtualAuthenticator(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { cdp, authenticatorId };
}

test("a patient adds a passkey named 'Test laptop', logs out, and logs in with it", async () => {
  // The fake clock stands still; the real browser takes real time. Keep them in step.
  t.clock.set(new Date());
  const user = await t.createUser("patient", { name: "Pia Passkey", withApp: true });
  // She kept her recovery codes when she set up the app: a second factor brings no new ones.
  await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const { cdp, authenticatorId } = await addVirtualAuthenticator(context, page);

  // ---- Signed in with the app: add a passkey ----
  await logInWithApp(page, user);
  await page.goto(`${baseUrl}/account/2fa/passkey`);
  await waitForPage(page, `${baseUrl}/account/2fa/passkey`);
  assert.equal(await page.locator("h1").innerText(), "Add a passkey");
  const add = page.getByRole("button", { name: "Add passkey" });
  await add.waitFor();
  assert.equal(await page.locator("[data-passkey-unsupported]").isVisible(), false, "the note for other browsers is gone");
  await screenshot(page, journey, "01-add-a-passkey");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  // Without a name the server says so before any prompt.
  await add.click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /Give the passkey a name/);
  assert.equal(await page.getByLabel("Name for this passkey").getAttribute("aria-invalid"), "true");
  await screenshot(page, journey, "02-add-a-passkey-without-name");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await page.getByLabel("Name for this passkey").fill("Test laptop");
  await add.click();
  await waitForPage(page, `${baseUrl}/account/security`);
  assert.match(await page.getByRole("status").first().innerText(), /Your passkey was added/);
  await screenshot(page, journey, "03-security-after-adding");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1, "the authenticator holds the new passkey");
  const { rows } = await t.database.db.query("SELECT name, credential_id FROM passkey_credentials WHERE user_id = $1", [user.id]);
  // The DevTools protocol gives the id in plain base64, the portal keeps the browser's base64url.
  const credentialId = Buffer.from(credentials[0]!.credentialId, "base64").toString("base64url");
  assert.deepEqual(rows, [{ name: "Test laptop", credential_id: credentialId }]);

  await page.goto(`${baseUrl}/account/2fa/passkey`);
  assert.match(await page.getByRole("listitem").filter({ hasText: "Test laptop" }).innerText(), /Test laptop \(added /);
  await logOut(page, baseUrl, { journey, step: "04-logged-out" });

  // ---- Logging in again: the password, then the passkey ----
  await logInWithPassword(page, baseUrl, user);
  await waitForPage(page, `${baseUrl}/login/2fa`);
  // The method-choice page shows the passkey where the browser can use one.
  const withPasskey = page.getByRole("link", { name: "With a passkey" });
  await withPasskey.waitFor();
  await screenshot(page, journey, "05-choose-a-passkey");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await withPasskey.click();
  await waitForPage(page, `${baseUrl}/login/2fa/passkey`);
  assert.equal(await page.locator("h1").innerText(), "Use your passkey");
  const use = page.getByRole("button", { name: "Use passkey" });
  await use.waitFor();
  await screenshot(page, journey, "06-use-your-passkey");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);
  await use.click();
  await waitForPage(page, `${baseUrl}/patient`);
  assert.match(await page.locator("h1").innerText(), /Welcome, Pia Passkey/);
  await screenshot(page, journey, "07-home-after-passkey");

  const [latest] = await t.services.audit.listEventsForUser(user.id, 1);
  assert.equal(latest!.type, "login.succeeded");
  assert.equal(latest!.details.method, "passkey");
  const { credentials: used } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  const { rows: stored } = await t.database.db.query("SELECT counter, last_used_at FROM passkey_credentials WHERE user_id = $1", [
    user.id,
  ]);
  assert.equal(Number(stored[0]!.counter), used[0]!.signCount, "the server keeps the authenticator's counter");
  assert.ok(stored[0]!.last_used_at);
  await context.close();
});

test("without JavaScript the passkey page says so and points to the other methods", async () => {
  t.clock.set(new Date());
  const user = await t.createUser("patient", { withApp: true });
  // Added directly: this browser could not add one.
  await t.database.db.query(
    `INSERT INTO passkey_credentials (user_id, credential_id, public_key, name, created_at)
     VALUES ($1, 'AAAA', '\\x01'::bytea, 'Phone', now())`,
    [user.id],
  );
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const page = await context.newPage();
  await logInWithPassword(page, baseUrl, user);
  await waitForPage(page, `${baseUrl}/login/2fa`);
  assert.equal(await page.getByRole("link", { name: "With a passkey" }).isVisible(), false, "no script, no passkey button");
  await page.goto(`${baseUrl}/login/2fa/passkey`);
  assert.match(await page.locator("[data-passkey-unsupported]").innerText(), /this browser cannot use them/);
  assert.equal(await page.getByRole("button", { name: "Use passkey" }).isVisible(), false);
  await screenshot(page, journey, "08-use-your-passkey-without-javascript");
  await page.getByRole("link", { name: "Choose another method" }).click();
  await waitForPage(page, `${baseUrl}/login/2fa`);
  await context.close();
});

test("a new doctor is offered a passkey first, as recommended, sets one up and goes on to their patients", async () => {
  t.clock.set(new Date());
  const doctor = await t.createUser("doctor", { name: "Dr. Pieter Passkey", withApp: false });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const { cdp, authenticatorId } = await addVirtualAuthenticator(context, page);

  await logInWithPassword(page, baseUrl, doctor);
  await waitForPage(page, `${baseUrl}/enrol`);
  // Where the browser can use passkeys, the script shows that choice, first and recommended.
  const choices = page.locator(".choice-list li:not([hidden]) a");
  await page.getByRole("link", { name: /Use a passkey.*\(recommended\)/ }).waitFor();
  assert.match(await choices.first().innerText(), /^Use a passkey.*\(recommended\)$/);
  await screenshot(page, journey, "09-doctor-must-enrol");
  assert.deepEqual(await seriousAccessibilityProblems(page), []);

  await choices.first().click();
  await waitForPage(page, `${baseUrl}/enrol/passkey`);
  await page.getByLabel("Name for this passkey").fill("Consulting room PC");
  await page.getByRole("button", { name: "Add passkey" }).click();
  // The first factor comes with recovery codes, shown once, then the doctor's own page.
  await waitForPage(page, `${baseUrl}/account/recovery-codes/new`);
  await screenshot(page, journey, "10-doctor-recovery-codes");
  await page.getByLabel("I have saved these codes somewhere safe").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await waitForPage(page, `${baseUrl}/doctor`);
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1);
  const [latest] = await t.services.audit.listEventsForUser(doctor.id, 5);
  assert.ok(latest);
  assert.ok(
    (await t.services.audit.listEventsForUser(doctor.id, 20)).some(
      (event) => event.type === "login.succeeded" && event.details.method === "enrolment",
    ),
  );
  await context.close();
});
