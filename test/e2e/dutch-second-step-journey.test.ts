import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { startTestApp, type TestApp, type TestUser } from "../support/app.js";
import { launchChromium, screenshot, seriousAccessibilityProblems, waitForPage } from "../support/browser.js";

// A browser set to Dutch goes through the second step: the method choice, the app's code, the SMS
// and the call pages, and adds a passkey and logs in with it (a virtual authenticator, as in the
// passkey journey). Every page reads as Dutch, and axe finds no serious problem on any of them.
// WebAuthn takes no IP address as a host: the portal is served as http://localhost:<port>.

const journey = "dutch-second-step";

let t: TestApp;
let server: Server;
let browser: Browser;
let baseUrl: string;

before(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://localhost:${(server.address() as AddressInfo).port}`;
  t = await startTestApp({ env: { PHONE_GATEWAY: "outbox", PUBLIC_BASE_URL: baseUrl, PRACTICE_PHONE: "020 123 4567" } });
  server.on("request", t.app);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t?.close();
});

/**
 * The page is Dutch: <html lang="nl">, the heading, no English word in what its main part shows,
 * and no serious accessibility problem. `leaving` names parts a script writes that are not checked.
 */
async function assertDutchPage(page: Page, heading: string, step: string, leaving: string[] = []) {
  assert.equal(await page.locator("html").getAttribute("lang"), "nl");
  assert.equal(await page.locator("h1").innerText(), heading);
  const shown = await page.locator("main").evaluate((main, skipped) => {
    const copy = main.cloneNode(true) as typeof main;
    for (const part of copy.querySelectorAll(skipped.join(",") || "none-at-all")) part.remove();
    for (const hidden of copy.querySelectorAll("[hidden]")) hidden.remove();
    return copy.textContent ?? "";
  }, leaving);
  assert.deepEqual(shown.match(/\b(?:the|your|you|with|from|this|and|please|have)\b/gi) ?? [], [], `${step}: English words`);
  await screenshot(page, journey, step);
  assert.deepEqual(await seriousAccessibilityProblems(page), [], step);
}

async function logInWithPassword(page: Page, user: TestUser) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel("E-mailadres").fill(user.email);
  await page.getByLabel("Wachtwoord").fill(user.password);
  await page.getByRole("button", { name: "Inloggen" }).click();
  await waitForPage(page, `${baseUrl}/login/2fa`);
}

/** The app's code, one 30-second step ahead of the last one used (see confirmWithAppCode). */
async function typeAppCode(page: Page, secret: string) {
  t.clock.set(new Date());
  t.clock.advanceSeconds(30);
  await page.getByLabel("Code van 6 cijfers").fill(await generateTotpCode(secret, t.clock.now()));
  await page.getByRole("button", { name: "Bevestigen" }).click();
}

test("in Dutch: the method choice, the app, SMS and call pages, and adding and using a passkey", async () => {
  t.clock.set(new Date());
  const user = await t.createUser("patient", { name: "Noor de Wit", withApp: true });
  await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, '+31612345670', now())", [
    user.id,
  ]);
  await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
  const context = await browser.newContext({ locale: "nl-NL", viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });

  // ---- The method choice ----
  await logInWithPassword(page, user);
  await assertDutchPage(page, "Tweede stap", "01-method-choice");
  assert.match(await page.locator("main").innerText(), /Hoe wilt u bevestigen dat u het bent\?/);
  for (const name of ["Met een sms", "Met een telefoontje"])
    assert.ok(await page.getByRole("button", { name }).isVisible(), name);
  assert.ok(await page.getByRole("link", { name: "Met een authenticator-app" }).isVisible());
  assert.ok(await page.getByRole("link", { name: "Een herstelcode gebruiken" }).isVisible());

  // ---- The SMS page ----
  await page.getByRole("button", { name: "Met een sms" }).click();
  await waitForPage(page, `${baseUrl}/login/2fa/sms`);
  // The countdown beside "Stuur een nieuwe code" is written by public/js/resend-countdown.js, whose
  // words are its own and still English.
  await assertDutchPage(page, "Code per sms", "02-sms-page", [".resend-countdown", ".resend-announcement"]);
  assert.match(
    await page.locator("main").innerText(),
    /We hebben een code van 6 cijfers gestuurd naar .+\. De code is 5 minuten geldig\./,
  );
  assert.ok(await page.getByLabel("Code van 6 cijfers uit de sms").isVisible());
  await page.getByRole("link", { name: "Een andere manier kiezen" }).click();
  await waitForPage(page, `${baseUrl}/login/2fa`);

  // ---- The call page ----
  await page.getByRole("button", { name: "Met een telefoontje" }).click();
  await waitForPage(page, `${baseUrl}/login/2fa/call`);
  await assertDutchPage(page, "Bevestigen met een telefoontje", "03-call-page");
  assert.match(await page.locator("main").innerText(), /We bellen .+\. Neem op en druk op 1 om uw inlog te bevestigen\./);
  assert.ok(await page.getByRole("button", { name: "Ik heb op 1 gedrukt — doorgaan" }).isVisible());
  await page.getByRole("link", { name: "Een andere manier gebruiken" }).click();
  await waitForPage(page, `${baseUrl}/login/2fa`);

  // ---- The app's code: a wrong one first ----
  await page.getByRole("link", { name: "Met een authenticator-app" }).click();
  await waitForPage(page, `${baseUrl}/login/2fa/app`);
  await assertDutchPage(page, "Code uit uw app", "04-app-page");
  await page.getByLabel("Code van 6 cijfers").fill("12ab");
  await page.getByRole("button", { name: "Bevestigen" }).click();
  await page.getByRole("heading", { name: "Er is een probleem" }).waitFor();
  assert.match(await page.locator(".error-summary").innerText(), /Typ de 6 cijfers uit uw app\./);
  await assertDutchPage(page, "Code uit uw app", "05-app-page-error");
  await typeAppCode(page, user.totpSecret!);
  await waitForPage(page, `${baseUrl}/patient`);

  // ---- Adding a passkey ----
  await page.goto(`${baseUrl}/account/2fa/passkey`);
  const add = page.getByRole("button", { name: "Passkey toevoegen" });
  await add.waitFor();
  await assertDutchPage(page, "Een passkey toevoegen", "06-add-a-passkey");
  await add.click();
  const alert = page.locator("[data-passkey-alert]");
  await alert.waitFor();
  assert.match(await alert.innerText(), /Geef de passkey een naam van 1 tot 60 tekens/);
  await assertDutchPage(page, "Een passkey toevoegen", "07-add-a-passkey-without-name");
  await page.getByLabel("Naam voor deze passkey").fill("Laptop");
  await add.click();
  await waitForPage(page, `${baseUrl}/account/security`);
  assert.match(await page.getByRole("status").first().innerText(), /Uw passkey is toegevoegd\./);
  await page.getByRole("button", { name: "Uitloggen", exact: true }).click();
  await waitForPage(page, `${baseUrl}/login?signed_out=1`);

  // ---- Logging in with the passkey ----
  await logInWithPassword(page, user);
  const withPasskey = page.getByRole("link", { name: "Met een passkey" });
  await withPasskey.waitFor();
  await assertDutchPage(page, "Tweede stap", "08-method-choice-with-passkey");
  await withPasskey.click();
  await waitForPage(page, `${baseUrl}/login/2fa/passkey`);
  const use = page.getByRole("button", { name: "Passkey gebruiken" });
  await use.waitFor();
  await assertDutchPage(page, "Uw passkey gebruiken", "09-use-your-passkey");
  await use.click();
  await waitForPage(page, `${baseUrl}/patient`);
  assert.equal(await page.locator("html").getAttribute("lang"), "nl");
  await context.close();
});
