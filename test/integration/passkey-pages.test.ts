import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import request from "supertest";
import { englishWords, translateMessage } from "../../src/i18n.js";
import { passkeyWords as passkeyPhrases } from "../../src/methods/passkey/routes.js";
import { noRequestContext } from "../../src/services/audit.js";
import { csrfFrom, logIn, startTestApp, type TestApp, type TestUser } from "../support/app.js";
import { createSoftwareAuthenticator, type SoftwareAuthenticator, type Tampering } from "../support/software-authenticator.js";

// The passkey pages and their JSON exchanges through the whole app (sessions, CSRF, guards), at
// /account/2fa/passkey and /login/2fa/passkey, with a software authenticator as the browser's.

/** The words the pages and the script's answers give, in English (the default language). */
const passkeyWords = Object.fromEntries(
  Object.entries(passkeyPhrases).map(([name, words]) => [name, translateMessage(englishWords(), words)]),
) as Record<keyof typeof passkeyPhrases, string>;

const origin = "http://portal.test";
const registration = "/account/2fa/passkey";
const login = "/login/2fa/passkey";

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

/** Posts a form-encoded body with the page's CSRF token, as the page's script does. */
function postForm(agent: request.Agent, path: string, csrf: string, fields: Record<string, string> = {}) {
  return agent
    .post(path)
    .type("form")
    .set("Accept", "application/json")
    .send({ ...fields, _csrf: csrf });
}

/** A signed-in patient (with the app) who adds a passkey through the pages. */
async function addPasskey(user: TestUser, authenticator: SoftwareAuthenticator, name = "Test laptop") {
  const { agent } = await t.logIn(user);
  const page = await agent.get(registration);
  assert.equal(page.status, 200);
  const csrf = csrfFrom(page.text);
  const started = await postForm(agent, `${registration}/options`, csrf, { name });
  assert.equal(started.status, 200, started.text);
  const response = JSON.stringify(authenticator.register(started.body.options));
  const finished = await postForm(agent, registration, csrf, { name, response });
  return { agent, csrf, finished, response };
}

/** The password step, then the passkey page: the agent and the page's CSRF token. */
async function openPasskeyLogin(user: TestUser) {
  const { agent, response } = await logIn(t.app, user.email, user.password);
  assert.equal(response.headers.location, "/login/2fa");
  const page = await agent.get(login);
  assert.equal(page.status, 200);
  return { agent, csrf: csrfFrom(page.text), page };
}

async function answerLogin(agent: request.Agent, csrf: string, authenticator: SoftwareAuthenticator, tamper: Tampering = {}) {
  const started = await postForm(agent, `${login}/options`, csrf);
  assert.equal(started.status, 200, started.text);
  const response = JSON.stringify(authenticator.authenticate(started.body.options, tamper));
  return { response, finished: await postForm(agent, login, csrf, { response }) };
}

test("a patient adds a passkey: the page, the prompt's options, and the stored passkey", async () => {
  const user = await t.createUser("patient", { withApp: true });
  // With codes left, a second factor needs no new ones: the notice says it was added.
  await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
  const authenticator = createSoftwareAuthenticator({ origin });
  const { agent } = await t.logIn(user);
  const page = await agent.get(registration);
  assert.equal(page.status, 200);
  assert.match(page.text, /<h1>Add a passkey<\/h1>/);
  assert.match(
    page.text,
    /<form method="post" action="\/account\/2fa\/passkey" novalidate hidden/,
    "hidden until the script sees support",
  );
  assert.match(page.text, /data-passkey-register hidden/);
  assert.match(page.text, /<script src="\/public\/passkey\/simplewebauthn-browser.js" defer><\/script>/);
  assert.match(page.text, /<script src="\/public\/passkey\/passkey.js" defer><\/script>/);
  assert.doesNotMatch(page.text, /<script>/, "no inline script");

  const csrf = csrfFrom(page.text);
  const started = await postForm(agent, `${registration}/options`, csrf, { name: "Test laptop" });
  assert.equal(started.status, 200);
  assert.equal(started.body.options.rp.id, "portal.test");
  assert.equal(started.body.options.user.name, user.email);
  assert.equal(started.body.challenge, undefined, "the challenge stays on the server, inside the options only");

  const response = JSON.stringify(authenticator.register(started.body.options));
  const finished = await postForm(agent, registration, csrf, { name: " Test laptop ", response });
  assert.equal(finished.status, 200, finished.text);
  assert.deepEqual(finished.body, { redirect: "/account/security" });
  const security = await agent.get("/account/security");
  assert.ok(security.text.includes(passkeyWords.registered), "the notice is kept for the page the script goes to");

  const { rows } = await t.database.db.query("SELECT name, credential_id FROM passkey_credentials WHERE user_id = $1", [user.id]);
  assert.deepEqual(rows, [{ name: "Test laptop", credential_id: authenticator.credentials[0]!.id }]);
  assert.ok(
    (await t.services.audit.listEventsForUser(user.id, 50)).some(
      (event) => event.type === "2fa.enrolment_completed" && event.details.method === "passkey",
    ),
  );
  const again = await agent.get(registration);
  assert.match(again.text, /Test laptop/, "the page lists the passkeys already there");
});

test("a prompt's answer is taken once; a name is checked before the prompt", async () => {
  const user = await t.createUser("patient", { withApp: true });
  const authenticator = createSoftwareAuthenticator({ origin });
  const { agent, csrf, finished, response } = await addPasskey(user, authenticator);
  assert.equal(finished.status, 200);

  const replay = await postForm(agent, registration, csrf, { name: "Test laptop", response });
  assert.equal(replay.status, 400);
  assert.deepEqual(replay.body, { error: passkeyWords.expired });

  for (const name of ["", "x".repeat(61), "Lap\u0000top"]) {
    const refused = await postForm(agent, `${registration}/options`, csrf, { name });
    assert.equal(refused.status, 400, JSON.stringify(name));
    assert.deepEqual(refused.body, { error: passkeyWords.invalidName, field: "name" });
  }

  const started = await postForm(agent, `${registration}/options`, csrf, { name: "Phone" });
  const garbled = await postForm(agent, registration, csrf, { name: "Phone", response: "{not json" });
  assert.deepEqual(garbled.body, { error: passkeyWords.malformed });
  const afterGarbled = await postForm(agent, registration, csrf, {
    name: "Phone",
    response: JSON.stringify(createSoftwareAuthenticator({ origin }).register(started.body.options)),
  });
  assert.deepEqual(afterGarbled.body, { error: passkeyWords.expired }, "a failed answer used the challenge up too");
  assert.equal((await t.database.db.query("SELECT 1 FROM passkey_credentials WHERE user_id = $1", [user.id])).rowCount, 1);
});

test("an answer from another site is refused with words, not stored", async () => {
  const user = await t.createUser("patient", { withApp: true });
  const { agent } = await t.logIn(user);
  const page = await agent.get(registration);
  const csrf = csrfFrom(page.text);
  const started = await postForm(agent, `${registration}/options`, csrf, { name: "Laptop" });
  const response = JSON.stringify(
    createSoftwareAuthenticator({ origin }).register(started.body.options, { origin: "https://phishing.example" }),
  );
  const refused = await postForm(agent, registration, csrf, { name: "Laptop", response });
  assert.equal(refused.status, 400);
  assert.deepEqual(refused.body, { error: passkeyWords.refused });
});

test("the passkey pages need a signed-in user, the CSRF token, and (to add one) a recent login", async () => {
  const user = await t.createUser("patient", { withApp: true });
  const anonymous = request.agent(t.app);
  assert.equal((await anonymous.get(registration)).headers.location, "/login");
  assert.equal((await anonymous.get(login)).headers.location, "/login");

  const { agent } = await t.logIn(user);
  const withoutToken = await agent.post(`${registration}/options`).type("form").send({ name: "Laptop" });
  assert.equal(withoutToken.status, 403);

  t.clock.advanceMinutes(6);
  const stale = await agent.get(registration);
  assert.equal(stale.status, 303);
  assert.match(stale.headers.location ?? "", /^\/account\/confirm\?next=%2Faccount%2F2fa%2Fpasskey/);
});

test("a login with the passkey: the page, the prompt, and a signed-in session", async () => {
  const user = await t.createUser("patient", { withApp: true });
  const authenticator = createSoftwareAuthenticator({ origin });
  await addPasskey(user, authenticator);

  const { agent, csrf, page } = await openPasskeyLogin(user);
  assert.match(page.text, /<h1>Use your passkey<\/h1>/);
  assert.match(page.text, /data-passkey-login hidden/);
  assert.match(page.text, /<a href="\/login\/2fa">Choose another method<\/a>/, "a way out without JavaScript");

  const started = await postForm(agent, `${login}/options`, csrf);
  assert.deepEqual(
    started.body.options.allowCredentials.map((allowed: { id: string }) => allowed.id),
    [authenticator.credentials[0]!.id],
  );
  assert.equal(started.body.options.userVerification, "required");
  const response = JSON.stringify(authenticator.authenticate(started.body.options));
  const finished = await postForm(agent, login, csrf, { response });
  assert.equal(finished.status, 200, finished.text);
  assert.deepEqual(finished.body, { redirect: "/" });
  assert.equal((await agent.get("/")).headers.location, "/patient", "signed in");

  const [latest] = await t.services.audit.listEventsForUser(user.id, 1);
  assert.equal(latest!.type, "login.succeeded");
  assert.equal(latest!.details.method, "passkey");
});

test("a wrong answer at login is refused, and its challenge is gone", async () => {
  const user = await t.createUser("patient", { withApp: true });
  const authenticator = createSoftwareAuthenticator({ origin });
  await addPasskey(user, authenticator);
  const { agent, csrf } = await openPasskeyLogin(user);

  const { finished: forged } = await answerLogin(agent, csrf, authenticator, { wrongSignature: true });
  assert.equal(forged.status, 400);
  assert.deepEqual(forged.body, { error: passkeyWords.wrong });

  const { finished: right, response } = await answerLogin(agent, csrf, authenticator);
  assert.deepEqual(right.body, { redirect: "/" });
  const replayed = await postForm(agent, login, csrf, { response });
  assert.notDeepEqual(replayed.body, { redirect: "/" }, "a replayed answer signs nothing in");
});

test("a login prompt expires after 5 minutes", async () => {
  const user = await t.createUser("patient", { withApp: true });
  const authenticator = createSoftwareAuthenticator({ origin });
  await addPasskey(user, authenticator);
  const { agent, csrf } = await openPasskeyLogin(user);
  const started = await postForm(agent, `${login}/options`, csrf);
  t.clock.advanceSeconds(5 * 60 + 1);
  const late = await postForm(agent, login, csrf, {
    response: JSON.stringify(authenticator.authenticate(started.body.options)),
  });
  assert.equal(late.status, 400);
  assert.deepEqual(late.body, { error: passkeyWords.expired });
  const { finished } = await answerLogin(agent, csrf, authenticator);
  assert.deepEqual(finished.body, { redirect: "/" }, "a new prompt works");
});

test("a user without passkeys is sent to the other methods", async () => {
  const user = await t.createUser("patient", { withApp: true });
  const { agent, response } = await logIn(t.app, user.email, user.password);
  assert.equal(response.headers.location, "/login/2fa");
  const page = await agent.get(login);
  assert.equal(page.status, 303);
  assert.equal(page.headers.location, "/login/2fa");
  const choose = await agent.get("/login/2fa");
  const started = await postForm(agent, `${login}/options`, csrfFrom(choose.text));
  assert.deepEqual(started.body, { redirect: "/login/2fa" });
});

test("the browser scripts are served from the portal, as scripts, cached like the other static files", async () => {
  const agent = request.agent(t.app);
  const library = await agent.get("/public/passkey/simplewebauthn-browser.js");
  assert.equal(library.status, 200);
  assert.match(library.headers["content-type"] ?? "", /^text\/javascript; charset=utf-8/);
  assert.match(library.text, /SimpleWebAuthnBrowser/);
  const script = await agent.get("/public/passkey/passkey.js");
  assert.equal(script.status, 200);
  assert.match(script.headers["content-type"] ?? "", /^text\/javascript/);
  assert.match(script.text, /data-passkey-register/);
  const stylesheet = await agent.get("/public/css/portal.css");
  assert.equal(library.headers["cache-control"], stylesheet.headers["cache-control"]);
  assert.equal(script.headers["cache-control"], stylesheet.headers["cache-control"]);
});

test("a first passkey comes with recovery codes; it is then a way in, and the security page lists it", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  const { agent, finished } = await addPasskey(user, authenticator, "Kitchen tablet");
  assert.deepEqual(finished.body, { redirect: "/account/recovery-codes/new" });
  const codes = await agent.get("/account/recovery-codes/new");
  assert.equal(codes.status, 200);
  assert.match(codes.text, /Your recovery codes/);
  assert.equal(await t.services.recoveryCodes.countRemainingCodes(user.id), 10);
  const security = await agent.get("/account/security");
  assert.match(security.text, /Kitchen tablet \(added /);
  assert.match(security.text, /Two-step login is <strong>on<\/strong>/);
  // The method-choice page offers it, shown by the script where the browser can use passkeys.
  const { agent: next } = await logIn(t.app, user.email, user.password);
  const choose = await next.get("/login/2fa");
  assert.match(
    choose.text,
    /data-needs-webauthn hidden>\s*<a class="button[^"]*" href="\/login\/2fa\/passkey">With a passkey<\/a>/,
  );
  assert.match(choose.text, /<script src="\/public\/js\/reveal-supported.js" defer><\/script>/);
});

test("a user whose only method is a passkey is offered the phone as a back-up for the passkey, not for an app", async () => {
  const user = await t.createUser("patient");
  const { agent } = await addPasskey(user, createSoftwareAuthenticator({ origin }), "Kitchen tablet");
  const codes = await agent.get("/account/recovery-codes/new");
  const saved = await agent
    .post("/account/recovery-codes/saved")
    .type("form")
    .send({ _csrf: csrfFrom(codes.text) });
  assert.equal(saved.status, 303);
  const reason = "so you can still log in without the device that holds your passkey.";
  const after = await agent.get(saved.headers.location!);
  assert.ok(
    after.text.includes(`Add your phone as a back-up in your security settings, ${reason}`),
    "the notice after the codes",
  );
  const security = await agent.get("/account/security");
  assert.match(security.text, /class="banner backup-suggestion"><span><strong>Add your phone as a back-up<\/strong>, ([^<]*)</);
  assert.equal(security.text.match(/backup-suggestion"><span><strong>[^<]*<\/strong>, ([^<]*)</)?.[1], reason);
  assert.doesNotMatch(security.text, /without the app/);
});

test("a passkey confirms a security change, which then goes ahead; a wrong one does not", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  const { agent } = await addPasskey(user, authenticator);
  t.clock.advanceMinutes(6);
  const page = await agent.get("/account/recovery-codes");
  const asked = await postForm(agent, "/account/recovery-codes", csrfFrom(page.text)).redirects(0);
  assert.match(asked.headers.location!, /^\/account\/confirm\?next=/);
  const confirmPage = await agent.get(asked.headers.location!);
  assert.match(confirmPage.text, /<option value="passkey"[^>]*data-ceremony-options="\/account\/confirm\/passkey\/options"/);
  const csrf = csrfFrom(confirmPage.text);
  const action = new URL(asked.headers.location!, "http://portal.test").searchParams.get("action")!;
  const confirmWith = async (tamper: Tampering) => {
    const started = await postForm(agent, "/account/confirm/passkey/options", csrf);
    assert.equal(started.status, 200, started.text);
    const code = JSON.stringify(authenticator.authenticate(started.body.options, tamper));
    return agent
      .post("/account/confirm")
      .type("form")
      .send({ password: user.password, method: "passkey", code, next: "/account/security", action, _csrf: csrf });
  };
  const forged = await confirmWith({ wrongSignature: true });
  assert.equal(forged.status, 400);
  assert.match(forged.text, /That passkey was not accepted/);
  const before = await t.services.recoveryCodes.countRemainingCodes(user.id);
  const confirmed = await confirmWith({});
  assert.equal(confirmed.status, 303);
  assert.equal(confirmed.headers.location, "/account/recovery-codes/new", "the change it asked for is done at once");
  assert.equal(before, 10);
  const codes = await agent.get("/account/recovery-codes/new");
  assert.match(codes.text, /Your recovery codes/);
});

test("a wrong passkey at login counts toward the lock like a wrong code; an admin reset removes passkeys", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  await addPasskey(user, authenticator);
  const { agent, csrf } = await openPasskeyLogin(user);
  const { finished } = await answerLogin(agent, csrf, authenticator, { wrongSignature: true });
  assert.equal(finished.status, 400);
  const { rows } = await t.database.db.query("SELECT second_factor_failures FROM users WHERE id = $1", [user.id]);
  assert.equal(rows[0]!.second_factor_failures, 1);
  assert.ok(
    (await t.services.audit.listEventsForUser(user.id, 50)).some(
      (event) => event.type === "2fa.code_refused" && event.details.method === "passkey",
    ),
  );
  const admin = await t.createUser("admin");
  const reset = await t.services.admin.resetSecondFactor(admin.id, user.id, "Lost laptop", noRequestContext);
  assert.ok(reset.ok);
  assert.deepEqual(reset.reset.removedMethods, ["passkey"]);
  const left = await t.database.db.query("SELECT count(*)::int AS n FROM passkey_credentials WHERE user_id = $1", [user.id]);
  assert.equal(left.rows[0]!.n, 0);
});

test("removing a passkey that is not the user's (another user's, or gone already) removes nothing and says so", async () => {
  const owner = await t.createUser("patient", { withApp: true });
  const { agent: ownerAgent } = await addPasskey(owner, createSoftwareAuthenticator({ origin }));
  const [theirs] = await t.services.passkeys.listPasskeys(owner.id);
  const user = await t.createUser("patient", { withApp: true });
  const { agent } = await addPasskey(user, createSoftwareAuthenticator({ origin }));
  const [mine] = await t.services.passkeys.listPasskeys(user.id);
  await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, '+31687878787', now())", [
    user.id,
  ]);
  const { agent: elsewhere } = await t.logIn(user);
  const outbox = async () =>
    (await t.database.db.query("SELECT count(*)::int AS n FROM phone_outbox WHERE to_number = '+31687878787'")).rows[0]!.n;
  const removals = async () =>
    (await t.services.audit.listEventsForUser(user.id, 50)).filter((event) => event.type === "2fa.removed").length;
  const sentBefore = await outbox();

  const security = await agent.get("/account/security");
  const csrf = csrfFrom(security.text);
  for (const path of [
    `/account/2fa/passkey/remove/${theirs!.id}`,
    "/account/2fa/passkey/remove/999999",
    "/account/2fa/passkey/remove/x",
  ]) {
    const refused = await agent.post(path).type("form").send({ _csrf: csrf });
    assert.equal(refused.status, 303, path);
    assert.equal(refused.headers.location, "/account/security");
    assert.match((await agent.get("/account/security")).text, /nothing was removed/i, path);
  }
  assert.equal((await t.services.passkeys.listPasskeys(owner.id)).length, 1, "the other user's passkey stays");
  assert.equal((await ownerAgent.get("/account/security")).status, 200, "and so does their session");
  assert.deepEqual(
    (await t.services.passkeys.listPasskeys(user.id)).map((passkey) => passkey.id),
    [mine!.id],
  );
  assert.equal(await removals(), 0, "no removal is recorded");
  assert.equal(await outbox(), sentBefore, "the phone hears of no removal");
  assert.equal((await elsewhere.get("/account/security")).status, 200, "the other session goes on");

  // Removed once, the second press of the button finds nothing.
  const removed = await agent.post(`/account/2fa/passkey/remove/${mine!.id}`).type("form").send({ _csrf: csrf });
  assert.equal(removed.headers.location, "/account/security");
  assert.equal(await removals(), 1);
  const again = await agent.post(`/account/2fa/passkey/remove/${mine!.id}`).type("form").send({ _csrf: csrf });
  assert.equal(again.headers.location, "/account/security");
  assert.match((await agent.get("/account/security")).text, /nothing was removed/i);
  assert.equal(await removals(), 1, "the second press records nothing");
});

test("a doctor whose only method is two passkeys can remove one from the security page, never the last", async () => {
  const doctor = await t.createUser("doctor");
  const authenticator = createSoftwareAuthenticator({ origin });
  const { agent } = await addPasskey(doctor, authenticator, "Lost laptop");
  const csrf = csrfFrom((await agent.get(registration)).text);
  const started = await postForm(agent, `${registration}/options`, csrf, { name: "Phone" });
  await postForm(agent, registration, csrf, {
    name: "Phone",
    response: JSON.stringify(authenticator.register(started.body.options)),
  });
  const removedApp = await agent
    .post("/account/2fa/app/remove")
    .type("form")
    .send({ _csrf: csrfFrom((await agent.get("/account/security")).text) });
  assert.equal(removedApp.headers.location, "/account/security");
  const [lost, phone] = await t.services.passkeys.listPasskeys(doctor.id);

  let security = await agent.get("/account/security");
  assert.match(security.text, new RegExp(`action="/account/2fa/passkey/remove/${lost!.id}"`), "the lost device can go");
  assert.match(security.text, new RegExp(`action="/account/2fa/passkey/remove/${phone!.id}"`));
  const removed = await agent
    .post(`/account/2fa/passkey/remove/${lost!.id}`)
    .type("form")
    .send({ _csrf: csrfFrom(security.text) });
  assert.equal(removed.headers.location, "/account/security");
  assert.deepEqual(
    (await t.services.passkeys.listPasskeys(doctor.id)).map((passkey) => passkey.name),
    ["Phone"],
  );
  security = await agent.get("/account/security");
  assert.doesNotMatch(security.text, /action="\/account\/2fa\/passkey\/remove/, "the last one has no remove button");
  const refused = await agent
    .post(`/account/2fa/passkey/remove/${phone!.id}`)
    .type("form")
    .send({ _csrf: csrfFrom(security.text) });
  assert.equal(refused.status, 403);
  assert.equal((await t.services.passkeys.listPasskeys(doctor.id)).length, 1);
});
