import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "node-html-parser";
import { logIn, startTestApp, type TestApp } from "../support/app.js";

// Guidance on the way to two-step login: where the invitation leads, the second method suggested
// after the first, and a security page that reads well (plain addresses, buttons that say what).

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

/** The text a screen reader reads for each link and button in the main content. */
const accessibleNames = (html: string) =>
  parse(html)
    .querySelectorAll("main a, main button")
    .map((element) => (element.getAttribute("aria-label") ?? element.text).replace(/\s+/g, " ").trim());

describe("the invitation", () => {
  test("leads to a chooser: the app (recommended) or a mobile phone, with the help link", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const home = parse((await agent.get("/patient")).text);
    const setUp = home.querySelectorAll("aside a").find((link) => link.text.trim() === "Set it up");
    assert.equal(setUp?.getAttribute("href"), "/account/2fa");
    const chooser = await agent.get("/account/2fa");
    assert.equal(chooser.status, 200);
    const links = parse(chooser.text)
      .querySelectorAll("main a")
      .map((link) => [link.getAttribute("href"), link.text.trim()]);
    assert.deepEqual(links.slice(0, 2), [
      ["/account/2fa/app", "Use an authenticator app (recommended)"],
      ["/account/2fa/phone", "Use my mobile phone (SMS or call)"],
    ]);
    assert.ok(
      links.some(([href]) => href === "/help/2fa"),
      "the help link",
    );
  });
});

describe("the security page", () => {
  test("after a first method it suggests a second one as a back-up", async () => {
    const user = await t.createUser("patient", { withApp: true });
    const { agent } = await t.logIn(user);
    const page = parse((await agent.get("/account/security")).text);
    const suggestion = page.querySelector(".backup-suggestion");
    assert.ok(suggestion, "a suggestion");
    assert.match(suggestion.text, /Add your phone as a back-up/);
    assert.equal(suggestion.querySelector("a")?.getAttribute("href"), "/account/2fa/phone");
  });

  test("shows IPv4 addresses plainly and names the method on every Add and Remove button", async () => {
    const user = await t.createUser("patient", { withApp: true });
    const { agent } = await t.logIn(user);
    const html = (await agent.get("/account/security")).text;
    assert.doesNotMatch(html, /::ffff:/);
    assert.match(html, /127\.0\.0\.1/);
    const names = accessibleNames(html);
    assert.ok(names.includes("Replace the authenticator app"), names.join(" | "));
    assert.ok(names.includes("Remove the authenticator app"), names.join(" | "));
    assert.ok(names.includes("Add a mobile phone"), names.join(" | "));
    assert.ok(!names.includes("Add") && !names.includes("Remove") && !names.includes("Replace"), "no button is just a verb");
  });
});

describe("the app set-up page", () => {
  test("does not jump to the code field, and folds the setup key under the QR code", async () => {
    const user = await t.createUser("patient");
    const { agent } = await logIn(t.app, user.email, user.password);
    const page = parse((await agent.get("/account/2fa/app")).text);
    assert.equal(page.querySelectorAll("[autofocus]").length, 0);
    const details = page.querySelector("details.setup-key");
    assert.ok(details, "the key is folded");
    assert.match(details.querySelector("summary")?.text ?? "", /Can.t scan\? Use a setup key/);
    assert.ok(details.querySelector("code.secret"), "the key is inside");
    assert.equal(details.getAttribute("open"), undefined, "and closed at first");
  });
});
