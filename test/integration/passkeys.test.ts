import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  createPasskeys,
  hasPasskeySql,
  maxPasskeysPerUser,
  type Passkeys,
  passkeySummarySql,
} from "../../src/methods/passkey/passkeys.js";
import type { AuditLog, RequestContext } from "../../src/services/audit.js";
import { startTestApp, type TestApp, type TestUser } from "../support/app.js";
import { createSoftwareAuthenticator, type SoftwareAuthenticator, type Tampering } from "../support/software-authenticator.js";

// The passkey service against PostgreSQL, with a software authenticator in the browser's place.

const origin = "http://portal.test";
const context: RequestContext = { ip: "203.0.113.7", userAgent: "test browser" };

let t: TestApp;
let passkeys: Passkeys;

before(async () => {
  t = await startTestApp({ env: { PORTAL_NAME: "Practice Portal" } });
  passkeys = createPasskeys({ db: t.database.db, clock: t.clock, config: t.config, audit: t.services.audit });
});

after(async () => {
  await t.close();
});

/** Registers a passkey on the authenticator for the user (tampered as asked), through the service; returns the result. */
async function registerPasskey(user: TestUser, authenticator: SoftwareAuthenticator, name = "Laptop", tamper: Tampering = {}) {
  const { options, challenge } = await passkeys.startRegistration(user);
  const response = authenticator.register(options, tamper);
  return passkeys.finishRegistration({ userId: user.id, response, expectedChallenge: challenge, name }, context);
}

/** Starts a login for the user and answers it with the authenticator (tampered as asked). */
async function logInWithPasskey(user: TestUser, authenticator: SoftwareAuthenticator, tamper: Tampering = {}) {
  const started = await passkeys.startAuthentication(user.id);
  assert.equal(started.status, "started");
  if (started.status !== "started") throw new Error("unreachable");
  const response = authenticator.authenticate(started.options, tamper);
  return passkeys.verifyAuthentication({ userId: user.id, response, expectedChallenge: started.challenge });
}

async function storedCredential(credentialId: string) {
  const { rows } = await t.database.db.query("SELECT * FROM passkey_credentials WHERE credential_id = $1", [credentialId]);
  return rows[0];
}

async function enrolmentEvents(userId: number) {
  const { rows } = await t.database.db.query(
    "SELECT * FROM audit_events WHERE subject_user_id = $1 AND event_type = '2fa.enrolment_completed' ORDER BY id",
    [userId],
  );
  return rows;
}

test("registration options: this portal as the relying party, user verification required, no attestation", async () => {
  const user = await t.createUser("patient");
  const { options, challenge } = await passkeys.startRegistration(user);
  assert.equal(options.rp.id, "portal.test", "the host name of PUBLIC_BASE_URL");
  assert.equal(options.rp.name, "Practice Portal");
  assert.equal(options.challenge, challenge);
  assert.ok(Buffer.from(challenge, "base64url").length >= 16, "a challenge of at least 128 bits");
  assert.equal(options.user.name, user.email);
  assert.equal(options.user.displayName, user.name);
  assert.doesNotMatch(Buffer.from(options.user.id, "base64url").toString("latin1"), new RegExp(`^${user.id}$`));
  assert.equal(options.attestation, "none");
  assert.equal(options.authenticatorSelection?.userVerification, "required");
  assert.equal(options.authenticatorSelection?.residentKey, "preferred");
  assert.deepEqual(
    options.pubKeyCredParams.map((param) => param.alg),
    [-7, -257],
    "ES256 and RS256",
  );
  assert.deepEqual(options.excludeCredentials, []);
  const again = await passkeys.startRegistration(user);
  assert.notEqual(again.challenge, challenge, "every prompt has its own challenge");
  assert.equal(again.options.user.id, options.user.id, "one user handle per user");
});

test("a passkey is registered, stored with its public key, and the enrolment audited", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  t.clock.set("2026-03-02T10:00:00Z");
  const result = await registerPasskey(user, authenticator, "  Work laptop ");
  assert.equal(result.status, "registered");
  if (result.status !== "registered") return;
  assert.equal(result.passkey.name, "Work laptop", "the name is trimmed");
  assert.equal(result.passkey.createdAt.toISOString(), "2026-03-02T10:00:00.000Z");
  assert.equal(result.passkey.lastUsedAt, null);

  const credential = authenticator.credentials[0]!;
  const row = await storedCredential(credential.id);
  assert.ok(row, "stored under the browser's credential id");
  assert.equal(Number(row.user_id), user.id);
  assert.ok(Buffer.isBuffer(row.public_key) && row.public_key.length > 60, "the COSE public key as bytes");
  assert.equal(Number(row.counter), 0);
  assert.deepEqual(row.transports, ["internal"]);

  const events = await enrolmentEvents(user.id);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]!.details, { method: "passkey", name: "Work laptop" });
  assert.equal(events[0]!.ip, context.ip);

  assert.deepEqual(
    (await passkeys.listPasskeys(user.id)).map((passkey) => passkey.name),
    ["Work laptop"],
  );
  assert.equal(await passkeys.hasPasskeys(user.id), true);
});

test("a user may have several passkeys; the prompt excludes the ones already there", async () => {
  const user = await t.createUser("patient");
  const laptop = createSoftwareAuthenticator({ origin });
  const phone = createSoftwareAuthenticator({ origin });
  assert.equal((await registerPasskey(user, laptop, "Laptop")).status, "registered");
  const { options } = await passkeys.startRegistration(user);
  assert.deepEqual(
    options.excludeCredentials?.map((credential) => credential.id),
    [laptop.credentials[0]!.id],
  );
  assert.equal((await registerPasskey(user, phone, "Phone")).status, "registered");
  assert.deepEqual(
    (await passkeys.listPasskeys(user.id)).map((passkey) => passkey.name),
    ["Laptop", "Phone"],
  );
  // Either passkey logs in.
  assert.equal(await logInWithPasskey(user, laptop), "right");
  assert.equal(await logInWithPasskey(user, phone), "right");

  const { rows } = await t.database.db.query(
    `SELECT ${hasPasskeySql} AS has, ${passkeySummarySql} AS summary FROM users u WHERE u.id = $1`,
    [user.id],
  );
  assert.equal(rows[0]!.has, true);
  assert.deepEqual(
    (rows[0]!.summary as { name: string }[]).map((passkey) => passkey.name),
    ["Laptop", "Phone"],
  );
  const other = await t.createUser("patient");
  const { rows: none } = await t.database.db.query(
    `SELECT ${hasPasskeySql} AS has, ${passkeySummarySql} AS summary FROM users u WHERE u.id = $1`,
    [other.id],
  );
  assert.deepEqual(none[0], { has: false, summary: null });
});

test("a credential registered already is refused, for the same user and for another", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  assert.equal((await registerPasskey(user, authenticator)).status, "registered");
  const credential = authenticator.credentials[0]!;

  const sameAgain = await registerPasskey(user, authenticator, "Laptop again", { reuseCredential: credential });
  assert.deepEqual(sameAgain, { status: "duplicate" });

  const other = await t.createUser("patient");
  const taken = await registerPasskey(other, authenticator, "Not mine", { reuseCredential: credential });
  assert.deepEqual(taken, { status: "duplicate" });
  assert.equal(Number((await storedCredential(credential.id))!.user_id), user.id, "the credential stays its owner's");
  assert.equal((await passkeys.listPasskeys(user.id)).length, 1);
  assert.equal((await passkeys.listPasskeys(other.id)).length, 0);
  assert.equal((await enrolmentEvents(user.id)).length, 1, "a refusal is no enrolment");
  assert.equal((await enrolmentEvents(other.id)).length, 0);
});

test("a registration for another challenge, origin, or without user verification is refused", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });

  const first = await passkeys.startRegistration(user);
  const second = await passkeys.startRegistration(user);
  const forFirst = authenticator.register(first.options);
  assert.deepEqual(
    await passkeys.finishRegistration(
      { userId: user.id, response: forFirst, expectedChallenge: second.challenge, name: "Laptop" },
      context,
    ),
    { status: "refused" },
    "another prompt's challenge",
  );

  assert.deepEqual(
    await registerPasskey(user, authenticator, "Laptop", { origin: "https://portal.test.example" }),
    { status: "refused" },
    "another site's origin",
  );
  assert.deepEqual(
    await registerPasskey(user, authenticator, "Laptop", { withoutUserVerification: true }),
    { status: "refused" },
    "no PIN, fingerprint or face",
  );

  const garbled = await passkeys.startRegistration(user);
  const response = authenticator.register(garbled.options);
  response.response.attestationObject = response.response.attestationObject.slice(0, 40);
  assert.deepEqual(
    await passkeys.finishRegistration(
      { userId: user.id, response, expectedChallenge: garbled.challenge, name: "Laptop" },
      context,
    ),
    { status: "refused" },
    "a cut-off attestation",
  );
  assert.equal((await passkeys.listPasskeys(user.id)).length, 0);
  assert.equal((await enrolmentEvents(user.id)).length, 0);
});

test("a name must be 1 to 60 characters without control characters", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  // Nor invisible formatting: a right-to-left override would show "Laptop" for another name.
  for (const name of ["", "   ", "x".repeat(61), "Lap\u0007top", "Lap\ntop", "pot\u202ELaptop", "Lap\u200Btop"]) {
    assert.deepEqual(await registerPasskey(user, authenticator, name), { status: "invalid_name" }, JSON.stringify(name));
  }
  const longest = "é".repeat(60);
  const result = await registerPasskey(user, authenticator, longest);
  assert.equal(result.status, "registered", "60 characters, counted as characters, not bytes");
});

test(`at most ${maxPasskeysPerUser} passkeys per user`, async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  for (let i = 1; i <= maxPasskeysPerUser; i += 1) {
    assert.equal((await registerPasskey(user, authenticator, `Key ${i}`)).status, "registered");
  }
  assert.deepEqual(await registerPasskey(user, authenticator, "One more"), { status: "limit_reached" });
  assert.equal((await passkeys.listPasskeys(user.id)).length, maxPasskeysPerUser);
});

test("the enrolment's audit event is written in the same transaction as the passkey", async () => {
  const user = await t.createUser("patient");
  const failingAudit: AuditLog = {
    ...t.services.audit,
    recordEvent: async () => {
      throw new Error("the audit log is unavailable");
    },
  };
  const unaudited = createPasskeys({ db: t.database.db, clock: t.clock, config: t.config, audit: failingAudit });
  const authenticator = createSoftwareAuthenticator({ origin });
  const { options, challenge } = await unaudited.startRegistration(user);
  await assert.rejects(
    unaudited.finishRegistration(
      { userId: user.id, response: authenticator.register(options), expectedChallenge: challenge, name: "Laptop" },
      context,
    ),
    /audit log is unavailable/,
  );
  assert.equal((await passkeys.listPasskeys(user.id)).length, 0, "no passkey without its audit event");
});

test("a login with the passkey is right; its counter and last use are stored", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  await registerPasskey(user, authenticator);
  const credential = authenticator.credentials[0]!;

  const started = await passkeys.startAuthentication(user.id);
  assert.equal(started.status, "started");
  if (started.status !== "started") return;
  assert.equal(started.options.rpId, "portal.test");
  assert.equal(started.options.userVerification, "required");
  assert.deepEqual(
    started.options.allowCredentials?.map((allowed) => allowed.id),
    [credential.id],
  );
  assert.deepEqual(started.options.allowCredentials?.[0]?.transports, ["internal"]);

  t.clock.set("2026-03-03T08:30:00Z");
  const response = authenticator.authenticate(started.options);
  assert.equal(await passkeys.verifyAuthentication({ userId: user.id, response, expectedChallenge: started.challenge }), "right");
  const row = await storedCredential(credential.id);
  assert.equal(Number(row!.counter), 1);
  assert.equal((row!.last_used_at as Date).toISOString(), "2026-03-03T08:30:00.000Z");
  assert.equal((await passkeys.listPasskeys(user.id))[0]!.lastUsedAt?.toISOString(), "2026-03-03T08:30:00.000Z");

  assert.equal(await logInWithPasskey(user, authenticator), "right", "and again at the next login");
  assert.equal(Number((await storedCredential(credential.id))!.counter), 2);
});

test("a user without passkeys gets no login prompt", async () => {
  const user = await t.createUser("patient");
  assert.deepEqual(await passkeys.startAuthentication(user.id), { status: "no_passkeys" });
  assert.equal(await passkeys.hasPasskeys(user.id), false);
});

test("a wrong signature is wrong, and leaves the counter where it was", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  await registerPasskey(user, authenticator);
  assert.equal(await logInWithPasskey(user, authenticator, { wrongSignature: true }), "wrong");
  const row = await storedCredential(authenticator.credentials[0]!.id);
  assert.equal(Number(row!.counter), 0);
  assert.equal(row!.last_used_at, null);
});

test("a counter that does not grow (a replay or a cloned authenticator) is refused", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  await registerPasskey(user, authenticator);
  assert.equal(await logInWithPasskey(user, authenticator), "right");
  const counter = authenticator.credentials[0]!.counter;
  assert.equal(counter, 1);
  assert.equal(await logInWithPasskey(user, authenticator, { counter }), "wrong", "the same counter twice");
  assert.equal(await logInWithPasskey(user, authenticator, { counter: 0 }), "wrong", "a counter going back");
  assert.equal(await logInWithPasskey(user, authenticator, { counter: 5 }), "right", "a higher one is fine");

  // Two logins signed with the same counter at once (a clone used beside the original): one passes.
  const first = await passkeys.startAuthentication(user.id);
  const second = await passkeys.startAuthentication(user.id);
  if (first.status !== "started" || second.status !== "started") throw new Error("no prompt");
  const original = authenticator.authenticate(first.options, { counter: 6 });
  const clone = authenticator.authenticate(second.options, { counter: 6 });
  const results = await Promise.all([
    passkeys.verifyAuthentication({ userId: user.id, response: original, expectedChallenge: first.challenge }),
    passkeys.verifyAuthentication({ userId: user.id, response: clone, expectedChallenge: second.challenge }),
  ]);
  assert.deepEqual(results.toSorted(), ["right", "wrong"]);
  assert.equal(Number((await storedCredential(authenticator.credentials[0]!.id))!.counter), 6);
});

// Two assertions with one counter, both checked against the counter as it was before either is
// stored: only the conditional UPDATE stands between them. The row is held locked until both
// wait for it, so the two really meet there. (The embedded database has one connection.)
test("two logins with one counter that both passed the signature check: the counter lets one through", {
  skip: process.env.DATABASE_URL ? false : "the embedded database has one connection",
}, async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  await registerPasskey(user, authenticator);
  const credential = authenticator.credentials[0]!;
  const first = await passkeys.startAuthentication(user.id);
  const second = await passkeys.startAuthentication(user.id);
  if (first.status !== "started" || second.status !== "started") throw new Error("no prompt");
  const original = authenticator.authenticate(first.options, { counter: 3 });
  const clone = authenticator.authenticate(second.options, { counter: 3 });
  let checks: Promise<string[]> | undefined;
  let waiting = 0;
  await t.database.db.transaction(async (lock) => {
    await lock.query("SELECT 1 FROM passkey_credentials WHERE credential_id = $1 FOR UPDATE", [credential.id]);
    checks = Promise.all([
      passkeys.verifyAuthentication({ userId: user.id, response: original, expectedChallenge: first.challenge }),
      passkeys.verifyAuthentication({ userId: user.id, response: clone, expectedChallenge: second.challenge }),
    ]);
    for (let tries = 0; tries < 300 && waiting < 2; tries += 1) {
      await delay(10);
      const { rows } = await t.database.db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE passkey_credentials%'`,
      );
      waiting = Number(rows[0]!.n);
    }
  });
  assert.equal(waiting, 2, "both checks passed the signature and reached the UPDATE");
  const results = await checks!;
  assert.deepEqual(results.toSorted(), ["right", "wrong"]);
  assert.equal(Number((await storedCredential(credential.id))!.counter), 3);
});

test("an authenticator without a counter (always 0) logs in every time", async () => {
  const user = await t.createUser("patient");
  const synced = createSoftwareAuthenticator({ origin, usesCounter: false });
  await registerPasskey(user, synced);
  assert.equal(await logInWithPasskey(user, synced), "right");
  assert.equal(await logInWithPasskey(user, synced), "right");
  assert.equal(Number((await storedCredential(synced.credentials[0]!.id))!.counter), 0);
});

test("another user's passkey does not log in", async () => {
  const owner = await t.createUser("patient");
  const victim = await t.createUser("patient");
  const ownersAuthenticator = createSoftwareAuthenticator({ origin });
  const victimsAuthenticator = createSoftwareAuthenticator({ origin });
  await registerPasskey(owner, ownersAuthenticator);
  await registerPasskey(victim, victimsAuthenticator);
  // The owner answers the victim's login prompt with their own, valid, passkey.
  const started = await passkeys.startAuthentication(victim.id);
  if (started.status !== "started") throw new Error("no prompt");
  const response = ownersAuthenticator.authenticate(started.options, {
    credentialId: ownersAuthenticator.credentials[0]!.id,
  });
  assert.equal(
    await passkeys.verifyAuthentication({ userId: victim.id, response, expectedChallenge: started.challenge }),
    "wrong",
  );
  assert.equal(Number((await storedCredential(ownersAuthenticator.credentials[0]!.id))!.counter), 0, "not even counted");
});

test("a login answered on another site, for another challenge, or without user verification is wrong", async () => {
  const user = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  await registerPasskey(user, authenticator);
  assert.equal(await logInWithPasskey(user, authenticator, { origin: "https://phishing.example" }), "wrong");
  assert.equal(await logInWithPasskey(user, authenticator, { origin: "https://portal.test" }), "wrong", "another scheme");
  assert.equal(await logInWithPasskey(user, authenticator, { withoutUserVerification: true }), "wrong");

  const first = await passkeys.startAuthentication(user.id);
  const second = await passkeys.startAuthentication(user.id);
  if (first.status !== "started" || second.status !== "started") throw new Error("no prompt");
  const response = authenticator.authenticate(first.options);
  assert.equal(await passkeys.verifyAuthentication({ userId: user.id, response, expectedChallenge: second.challenge }), "wrong");
  assert.equal(await logInWithPasskey(user, authenticator), "right", "the passkey itself still works");
});

test("a passkey is removed by its owner only; removing all leaves none", async () => {
  const user = await t.createUser("patient");
  const other = await t.createUser("patient");
  const authenticator = createSoftwareAuthenticator({ origin });
  await registerPasskey(user, authenticator, "Laptop");
  await registerPasskey(user, authenticator, "Phone");
  const [laptop, phone] = await passkeys.listPasskeys(user.id);

  assert.deepEqual(await passkeys.removePasskey(other.id, laptop!.id), { status: "not_found" }, "not someone else's");
  assert.equal((await passkeys.listPasskeys(user.id)).length, 2);

  const removed = await t.database.db.transaction((tx) => passkeys.removePasskey(user.id, laptop!.id, tx));
  assert.deepEqual(removed, { status: "removed", name: "Laptop" });
  assert.deepEqual(
    (await passkeys.listPasskeys(user.id)).map((passkey) => passkey.id),
    [phone!.id],
  );
  // The removed passkey no longer logs in; the other one does.
  const started = await passkeys.startAuthentication(user.id);
  if (started.status !== "started") throw new Error("no prompt");
  const withRemoved = authenticator.authenticate(started.options, { credentialId: authenticator.credentials[0]!.id });
  assert.equal(
    await passkeys.verifyAuthentication({ userId: user.id, response: withRemoved, expectedChallenge: started.challenge }),
    "wrong",
  );

  assert.equal(await t.database.db.transaction((tx) => passkeys.removeAllPasskeys(user.id, tx)), 1);
  assert.deepEqual(await passkeys.listPasskeys(user.id), []);
  assert.equal(await passkeys.hasPasskeys(user.id), false);
});
