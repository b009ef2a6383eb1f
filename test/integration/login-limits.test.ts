import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import request from "supertest";
import { type PasswordVerifier, verifyPassword } from "../../src/services/passwords.js";
import { csrfFrom, logIn, startTestApp, type TestApp } from "../support/app.js";
import { logStatements } from "../support/statement-log.js";

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());
// Every request here comes from the same loopback address: start each test with a clean count.
beforeEach(async () => {
  await t.database.db.query("DELETE FROM rate_limits");
  await t.database.db.query("DELETE FROM login_ip_blocks");
});

async function attempt(app: TestApp["app"], email: string, password: string, headers: Record<string, string> = {}) {
  const agent = request.agent(app);
  const page = await agent.get("/login").set(headers);
  return agent
    .post("/login")
    .set(headers)
    .type("form")
    .send({ email, password, _csrf: csrfFrom(page.text) });
}

/** The id the next audit event will have (or a later one): events are never deleted. */
async function nextAuditEventId(): Promise<number> {
  const { rows } = await t.database.db.query("SELECT coalesce(max(id), 0) + 1 AS id FROM audit_events");
  return Number(rows[0]!.id);
}

async function blockEventsSince(firstId: number, type = "login.ip_blocked") {
  const { rows } = await t.database.db.query(
    "SELECT event_type, ip, details FROM audit_events WHERE id >= $1 AND event_type = $2 ORDER BY id",
    [firstId, type],
  );
  return rows as { event_type: string; ip: string; details: Record<string, unknown> }[];
}

describe("per-account delay", () => {
  test("after 5 consecutive failures the account waits, with the same answer as a wrong password", async () => {
    const user = await t.createUser("patient");
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await attempt(t.app, user.email, "wrong password guess", { "X-Forwarded-For": "" })).status, 401);
    }
    const blocked = await attempt(t.app, user.email, user.password);
    assert.equal(blocked.status, 401, "the right password is refused while the account is blocked");
    assert.match(blocked.text, /email address or password is not right/);
    t.clock.advanceMinutes(1);
    const allowed = await attempt(t.app, user.email, user.password);
    assert.equal(allowed.status, 303, "after the first delay (1 minute) the right password works");
    const { rows } = await t.database.db.query("SELECT failed_login_count FROM users WHERE id = $1", [user.id]);
    assert.equal(rows[0]!.failed_login_count, 0, "success resets the count");
  });

  test("the delay doubles up to 15 minutes", async () => {
    const user = await t.createUser("patient");
    const delays: number[] = [];
    for (let failure = 1; failure <= 10; failure += 1) {
      assert.equal(await t.services.login.checkPasswordLimited(user, "wrong password guess"), "wrong", `try ${failure} counted`);
      const { rows } = await t.database.db.query("SELECT login_blocked_until FROM users WHERE id = $1", [user.id]);
      const until = rows[0]!.login_blocked_until as Date | null;
      delays.push(until ? (until.getTime() - t.clock.now().getTime()) / 60_000 : 0);
      // Wait the delay out, so that the next try is counted too.
      if (until) t.clock.set(until);
    }
    assert.deepEqual(delays, [0, 0, 0, 0, 1, 2, 4, 8, 15, 15]);
  });

  test("a disabled account gets the same answer as a wrong password", async () => {
    const user = await t.createUser("patient");
    await t.database.db.query("UPDATE users SET disabled_at = now() WHERE id = $1", [user.id]);
    const response = await attempt(t.app, user.email, user.password);
    assert.equal(response.status, 401);
  });
});

describe("per-IP limit", () => {
  test("10 failed logins from one IP block it for 15 minutes, before any password check", async () => {
    // A separate app instance that trusts no proxy: the socket address is what counts.
    const other = await startTestApp({ database: t.database });
    const user = await other.createUser("patient");
    const firstEvent = await nextAuditEventId();
    for (let i = 0; i < 10; i += 1) {
      const response = await attempt(other.app, `nobody${i}@example.test`, "wrong password guess", {
        "X-Forwarded-For": `203.0.113.${i}`,
      });
      assert.equal(response.status, 401, `attempt ${i + 1}`);
    }
    const blocked = await attempt(other.app, user.email, user.password, { "X-Forwarded-For": "198.51.100.7" });
    assert.equal(blocked.status, 429, "a spoofed X-Forwarded-For does not reset the count");
    assert.match(blocked.text, /try again after/);
    assert.ok(Number(blocked.headers["retry-after"]) > 14 * 60);
    const blocks = await blockEventsSince(firstEvent);
    assert.equal(blocks.length, 1, "the start of the block is recorded once, with its end");
    assert.equal(new Date(String(blocks[0]!.details.until)).getTime(), other.clock.now().getTime() + 15 * 60_000);
  });

  test("behind a trusted proxy, clients are told apart by X-Forwarded-For", async () => {
    const proxied = await startTestApp({ database: t.database, env: { TRUST_PROXY: "true" } });
    const user = await proxied.createUser("patient");
    for (let i = 0; i < 10; i += 1) {
      await attempt(proxied.app, "nobody@example.test", "wrong password guess", { "X-Forwarded-For": "203.0.113.50" });
    }
    assert.equal((await attempt(proxied.app, user.email, user.password, { "X-Forwarded-For": "203.0.113.50" })).status, 429);
    assert.equal((await attempt(proxied.app, user.email, user.password, { "X-Forwarded-For": "203.0.113.51" })).status, 303);
  });
});

describe("a flood from a blocked address", () => {
  test("is refused before the session is read: one statement each, no audit row, a page that says when", async () => {
    const log = logStatements(t.database.db);
    const verifier = observedVerifier();
    const flooded = await startTestApp({ database: { ...t.database, db: log.db }, verifyPassword: verifier.verify });
    const user = await flooded.createUser("patient");
    // The attacker also holds a signed-in session: it is not even read.
    const { agent } = await flooded.logIn(user);
    const firstEvent = await nextAuditEventId();
    for (let i = 0; i < 10; i += 1) {
      assert.equal((await attempt(flooded.app, `nobody${i}@example.test`, "wrong password guess")).status, 401);
    }
    const starting = await attempt(flooded.app, user.email, user.password);
    assert.equal(starting.status, 429, "the 11th try starts the block");
    const until = new Date(flooded.clock.now().getTime() + 15 * 60_000);
    const sessionsBefore = await countRows("session");
    const auditBefore = await countRows("audit_events");
    const comparisonsBefore = verifier.calls;
    log.clear();

    const flood = 30;
    const refused = await Promise.all(
      Array.from({ length: flood }, () =>
        agent.post("/login").type("form").send({ email: user.email, password: user.password, _csrf: "x" }),
      ),
    );
    for (const response of refused) {
      assert.equal(response.status, 429);
      assert.equal(response.headers["retry-after"], String(15 * 60));
      assert.equal(response.headers["set-cookie"], undefined, "no cookie, no session");
    }
    const page = refused[0]!.text;
    assert.match(page, /too many failed logins from your network/);
    assert.match(page, new RegExp(`try again after <strong><time datetime="${until.toISOString()}">`));

    assert.equal(verifier.calls, comparisonsBefore, "no password checked");
    assert.equal(log.statements.length, flood, "one statement per refused login");
    for (const statement of log.statements) assert.match(statement.sql, /^UPDATE login_ip_blocks SET refused = refused \+ 1/);
    assert.equal(await countRows("audit_events"), auditBefore, "no audit row per refused login");
    assert.equal(await countRows("session"), sessionsBefore, "no session row");
    assert.equal((await blockEventsSince(firstEvent)).length, 1, "one event for the start of the block");

    // The count is recorded once the block is over (by the pruning job), in one event.
    assert.equal((await flooded.services.retention.pruneExpiredRecords()).ipBlocks, 0, "not while the block lasts");
    flooded.clock.advanceMinutes(15);
    assert.equal((await flooded.services.retention.pruneExpiredRecords()).ipBlocks, 1);
    const ended = await blockEventsSince(firstEvent, "login.ip_block_ended");
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.details.refused, flood);
    assert.equal(ended[0]!.details.until, until.toISOString());
    assert.equal(ended[0]!.ip, (await blockEventsSince(firstEvent))[0]!.ip, "for the same address");
    assert.equal((await flooded.services.retention.pruneExpiredRecords()).ipBlocks, 0, "recorded once");
  });
});

/**
 * The real bcrypt comparison, observed: how many ran, how many at once at most, and (when held)
 * each waits until the test releases it, so a burst can be answered while checks are under way.
 */
function observedVerifier() {
  let running = 0;
  let calls = 0;
  let mostAtOnce = 0;
  let held: Promise<void> | null = null;
  let release: () => void = () => undefined;
  let onEnter: (() => void)[] = [];
  const verify: PasswordVerifier = async (password, hash) => {
    calls += 1;
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    for (const entered of onEnter) entered();
    onEnter = [];
    try {
      if (held) await held;
      return await verifyPassword(password, hash);
    } finally {
      running -= 1;
    }
  };
  return {
    verify,
    hold() {
      held = new Promise((resolve) => {
        release = resolve;
      });
    },
    release() {
      held = null;
      release();
    },
    /** Resolves when the next comparison starts. */
    nextStart: () => new Promise<void>((resolve) => onEnter.push(resolve)),
    get calls() {
      return calls;
    },
    get mostAtOnce() {
      return mostAtOnce;
    },
  };
}

describe("admission control for password checks", () => {
  async function limitedApp(env: Record<string, string>) {
    const verifier = observedVerifier();
    const app = await startTestApp({
      database: t.database,
      env: { TRUST_PROXY: "true", ...env },
      verifyPassword: verifier.verify,
    });
    const user = await app.createUser("patient");
    const agent = request.agent(app.app);
    const csrf = csrfFrom((await agent.get("/login")).text);
    // Each login from another address unless one is given: one address holds one place in line.
    let addresses = 0;
    const post = (email: string, from = `203.0.113.${++addresses}`) =>
      agent
        .post("/login")
        .set("X-Forwarded-For", from)
        .type("form")
        .send({ email, password: "wrong password guess", _csrf: csrf });
    return { verifier, user, post };
  }

  test("with room for one check and one waiting, the rest of a burst is told the portal is busy", async () => {
    const { verifier, user, post } = await limitedApp({ PASSWORD_CHECK_CONCURRENCY: "1", PASSWORD_CHECK_QUEUE: "1" });
    const firstEvent = await nextAuditEventId();
    const burst = 8;
    verifier.hold();
    let answered = 0;
    let busyAnswered: () => void = () => undefined;
    const allBusyAnswered = new Promise<void>((resolve) => {
      busyAnswered = resolve;
    });
    // Unknown emails and a known one with a wrong password, all at once.
    const responses = Array.from({ length: burst }, (_, i) =>
      post(i % 2 === 0 ? user.email : `nobody${i}@example.test`).then((response) => {
        answered += 1;
        if (answered === burst - 2) busyAnswered();
        return response;
      }),
    );
    // The check that runs and the one that waits are held; all the others are answered meanwhile.
    await allBusyAnswered;
    verifier.release();
    const done = await Promise.all(responses);

    const busy = done.filter((response) => response.status === 503);
    assert.equal(busy.length, burst - 2);
    assert.equal(done.filter((response) => response.status === 401).length, 2, "one checked at once, one after it");
    for (const response of busy) {
      assert.equal(response.headers["retry-after"], "5");
      assert.match(response.text, /The portal is busy: many passwords are being checked right now/);
      assert.match(response.text, /name="password"/, "the login form, ready to send again");
    }
    assert.equal(verifier.mostAtOnce, 1, "never two comparisons at once");
    assert.equal(verifier.calls, 2);
    const failures = await blockEventsSince(firstEvent, "login.failed");
    assert.equal(failures.length, 2, "a busy answer counts no failed login");
    const { rows } = await t.database.db.query("SELECT sum(points)::int AS n FROM rate_limits WHERE key LIKE 'login-ip:%'");
    assert.equal(Number(rows[0]!.n), 2, "nor a try against the address");
  });

  test("one client holds one place in line: its own right password cannot keep others out", async () => {
    const { verifier, user, post } = await limitedApp({
      PASSWORD_CHECK_CONCURRENCY: "1",
      PASSWORD_CHECK_QUEUE: "2",
      PASSWORD_CHECK_PER_CLIENT: "1",
    });
    verifier.hold();
    const started = verifier.nextStart();
    const running = post(user.email, "2001:db8:1:2::1").then((response) => response);
    await started;
    // The same address written another way, and another address of its IPv6 network: busy at once,
    // though there is room in line.
    for (const again of ["2001:db8:1:2:0:0:0:1", "2001:db8:1:2::2"]) {
      assert.equal((await post(user.email, again)).status, 503, `${again} already holds a place`);
    }
    // Someone else still gets a turn.
    const other = post("nobody@example.test", "192.0.2.55").then((response) => response);
    verifier.release();
    assert.equal((await running).status, 401);
    assert.equal((await other).status, 401, "another address was checked");
    assert.equal(verifier.calls, 2);
  });

  test("an unknown email waits for the same turn as a wrong password", async () => {
    const { verifier, user, post } = await limitedApp({ PASSWORD_CHECK_CONCURRENCY: "1", PASSWORD_CHECK_QUEUE: "0" });
    for (const [first, second] of [
      [user.email, "nobody@example.test"],
      ["nobody@example.test", user.email],
    ] as const) {
      verifier.hold();
      const started = verifier.nextStart();
      const running = post(first).then((response) => response);
      await started;
      assert.equal((await post(second)).status, 503, `${second} is busy while ${first} is checked`);
      verifier.release();
      assert.equal((await running).status, 401);
    }
    assert.equal(verifier.calls, 2, "each checked login, known or not, made one comparison");
  });

  test("a check waits for its turn only PASSWORD_CHECK_WAIT_MS, then is told the portal is busy", async () => {
    const { verifier, user, post } = await limitedApp({
      PASSWORD_CHECK_CONCURRENCY: "1",
      PASSWORD_CHECK_QUEUE: "1",
      PASSWORD_CHECK_WAIT_MS: "50",
    });
    verifier.hold();
    const started = verifier.nextStart();
    const running = post(user.email).then((response) => response);
    await started;
    const waited = await post("nobody@example.test");
    assert.equal(waited.status, 503, "given up while waiting");
    assert.equal(verifier.calls, 1, "and never checked");
    verifier.release();
    assert.equal((await running).status, 401);
  });
});

async function countRows(table: "session" | "audit_events"): Promise<number> {
  const { rows } = await t.database.db.query(`SELECT count(*)::int AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

describe("production cookie", () => {
  test("is Secure with the __Host- prefix", async () => {
    const production = await startTestApp({
      database: t.database,
      env: {
        NODE_ENV: "production",
        DATABASE_URL: "postgres://unused@127.0.0.1/unused",
        PUBLIC_BASE_URL: "https://portal.example",
        TRUST_PROXY: "true",
        PHONE_GATEWAY: "twilio",
        TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
        TWILIO_AUTH_TOKEN: "token",
        TWILIO_FROM_NUMBER: "+3197010000000",
      },
    });
    const user = await production.createUser("patient");
    const agent = request.agent(production.app);
    const page = await agent.get("/login").set("X-Forwarded-Proto", "https");
    // The login form's token cookie, and after the password the session cookie.
    const csrfCookie = ([] as string[]).concat(page.headers["set-cookie"] ?? [])[0]!;
    assert.match(csrfCookie, /^__Host-portal\.csrf=/);
    assert.match(csrfCookie, /Secure/);
    assert.match(csrfCookie, /HttpOnly/);
    assert.match(String(page.headers["strict-transport-security"]), /max-age=31536000/);
    const response = await agent
      .post("/login")
      .set("X-Forwarded-Proto", "https")
      .set("Cookie", csrfCookie.split(";")[0]!)
      .type("form")
      .send({ email: user.email, password: user.password, _csrf: csrfFrom(page.text) });
    assert.equal(response.status, 303);
    const cookie = ([] as string[]).concat(response.headers["set-cookie"] ?? []).find((c) => c.includes("portal.sid"))!;
    assert.match(cookie, /^__Host-portal\.sid=/);
    assert.match(cookie, /Secure/);
    assert.match(cookie, /Path=\//);
    const broken = await agent.get("/no-such-page").set("X-Forwarded-Proto", "https");
    assert.doesNotMatch(broken.text, /class="stack"/);
  });
});

test("a doctor with an app passes the password step to the second step", async () => {
  const user = await t.createUser("doctor");
  const { response } = await logIn(t.app, user.email, user.password);
  assert.equal(response.headers.location, "/login/2fa");
});

describe("passwords sent in parallel", () => {
  test("a burst against one account checks at most 5 passwords; the right one after it is refused", async () => {
    const user = await t.createUser("patient");
    const agent = request.agent(t.app);
    const page = await agent.get("/login");
    const csrf = csrfFrom(page.text);
    await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        agent
          .post("/login")
          .set("X-Forwarded-For", `203.0.113.${i}`)
          .type("form")
          .send({ email: user.email, password: `wrong password number ${i}`, _csrf: csrf }),
      ),
    );
    const { rows } = await t.database.db.query(
      "SELECT count(*)::int AS n FROM audit_events WHERE subject_user_id = $1 AND event_type = 'login.failed' AND details ->> 'reason' = 'wrong_password'",
      [user.id],
    );
    assert.equal(Number(rows[0]!.n), 5, "passwords checked before the account waits");
    const right = await agent.post("/login").type("form").send({ email: user.email, password: user.password, _csrf: csrf });
    assert.equal(right.status, 401, "the account waits, even for the right password");
  });

  test("a burst from one IP passes at most 10 tries", async () => {
    const agent = request.agent(t.app);
    const page = await agent.get("/login");
    const csrf = csrfFrom(page.text);
    const responses = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        agent
          .post("/login")
          .type("form")
          .send({ email: `nobody${i}@example.test`, password: "guess guess guess", _csrf: csrf }),
      ),
    );
    assert.equal(responses.filter((response) => response.status === 401).length, 10);
    assert.equal(responses.filter((response) => response.status === 429).length, 15);
  });
});
