import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import express from "express";
import { pino } from "pino";
import request from "supertest";
import { createSessionService } from "../../src/services/sessions.js";
import { createErrorHandler } from "../../src/web/middleware/errors.js";
import { createSessionMiddleware } from "../../src/web/session.js";
import { csrfFrom, logIn, sessionCookieOf, startTestApp, type TestApp } from "../support/app.js";
import { withOwnerDatabase } from "../support/database.js";
import { logStatements } from "../support/statement-log.js";

let t: TestApp;

before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t.close();
});

function sidOf(cookie: string): string {
  return decodeURIComponent(cookie.split("=")[1]!).slice(2).split(".")[0]!;
}

async function rowVersion(sid: string): Promise<string | undefined> {
  const { rows } = await t.database.db.query<{ version: string }>("SELECT xmin::text AS version FROM session WHERE sid = $1", [
    sid,
  ]);
  return rows[0]?.version;
}

test("a signed-in page view writes no session row; activity is written at most once a minute", async () => {
  const user = await t.createUser("patient");
  const { agent, response } = await logIn(t.app, user.email, user.password);
  const sid = sidOf(sessionCookieOf(response)!);
  assert.equal((await agent.get("/patient")).status, 200);
  const version = await rowVersion(sid);
  assert.ok(version, "the session is stored");
  for (let view = 0; view < 5; view += 1) assert.equal((await agent.get("/patient")).status, 200);
  t.clock.advanceSeconds(59);
  assert.equal((await agent.get("/patient")).status, 200);
  assert.equal(await rowVersion(sid), version, "page views within a minute leave the row as it was");
  t.clock.advanceSeconds(2);
  assert.equal((await agent.get("/patient")).status, 200);
  assert.notEqual(await rowVersion(sid), version, "a minute later the activity is written");
  // Idle for 15 minutes counts from the last written activity, so the session still ends on time.
  t.clock.advanceMinutes(15);
  const expired = await agent.get("/patient");
  assert.equal(expired.headers.location, "/login?expired=1");
  assert.equal(sessionCookieOf(expired), undefined, "no cookie for the empty session that replaced it");
});

test("a page view finishing after a logout in another tab does not bring the session back", async () => {
  const user = await t.createUser("patient");
  for (let round = 0; round < 15; round += 1) {
    const { agent, response } = await logIn(t.app, user.email, user.password);
    const cookie = sessionCookieOf(response)!;
    const home = await agent.get("/patient");
    // The page view below is due to write its activity, racing the logout's delete.
    t.clock.advanceSeconds(61);
    const [, logout] = await Promise.all([
      agent.get("/patient"),
      agent
        .post("/logout")
        .type("form")
        .send({ _csrf: csrfFrom(home.text) }),
    ]);
    assert.equal(logout.status, 303);
    const after = await request(t.app).get("/patient").set("Cookie", cookie);
    assert.equal(after.status, 302, `round ${round}: the logged-out session stays ended`);
    assert.equal(await rowVersion(sidOf(cookie)), undefined, `round ${round}: its row stays deleted`);
  }
});

test("a response is ended once: a redirect followed by an error still goes out as the redirect", async () => {
  const logger = pino({ level: "silent" });
  const app = express();
  app.use(...createSessionMiddleware({ config: t.config, db: t.database.db, sessions: t.services.sessions, logger }));
  app.get("/redirect-then-throw", (req, res) => {
    req.session.notice = "stored before the redirect";
    res.redirect(303, "/next");
    throw new Error("a mistake after the response was sent");
  });
  app.use(createErrorHandler({ config: t.config, logger, clock: t.clock }));
  const response = await request(app).get("/redirect-then-throw");
  assert.equal(response.status, 303);
  assert.equal(response.headers.location, "/next");
  const sid = sidOf(sessionCookieOf(response)!);
  const { rows } = await t.database.db.query<{ notice: string }>(
    "SELECT sess ->> 'notice' AS notice FROM session WHERE sid = $1",
    [sid],
  );
  assert.equal(rows[0]?.notice, "stored before the redirect");
});

test("when the session cannot be stored, the answer is a whole 503 page and no session cookie", async () => {
  const user = await t.createUser("patient");
  const { agent } = await logIn(t.app, user.email, user.password);
  const countLogins = async () =>
    Number(
      (
        await t.database.db.query(
          "SELECT count(*)::int AS n FROM audit_events WHERE subject_user_id = $1 AND event_type = 'login.succeeded'",
          [user.id],
        )
      ).rows[0]?.n,
    );
  const loginsBefore = await countLogins();
  // Triggers are the owner's to create (the app's own role owns nothing).
  await withOwnerDatabase(t.database, (owner) =>
    owner.query(`
    CREATE FUNCTION refuse_session_writes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'session writes refused for this test'; END; $$;
    CREATE TRIGGER refuse_session_writes BEFORE INSERT OR UPDATE ON session
      FOR EACH ROW EXECUTE FUNCTION refuse_session_writes();`),
  );
  try {
    t.clock.advanceMinutes(2);
    const page = await agent.get("/patient");
    assert.equal(page.status, 503);
    assert.match(page.text, /cannot reach its database/);
    assert.match(page.text, /<\/html>$/, "the whole page arrived");

    const visitor = request.agent(t.app);
    const form = await visitor.get("/login");
    const login = await visitor
      .post("/login")
      .type("form")
      .send({ email: user.email, password: user.password, _csrf: csrfFrom(form.text) });
    assert.equal(login.status, 503);
    assert.equal(login.headers.location, undefined, "no redirect into a login that was not kept");
    assert.equal(sessionCookieOf(login), undefined, "no cookie for a session that does not exist");
    assert.equal(await countLogins(), loginsBefore, "a login whose session was not kept is not recorded as one");
  } finally {
    await withOwnerDatabase(t.database, (owner) =>
      owner.query("DROP TRIGGER refuse_session_writes ON session; DROP FUNCTION refuse_session_writes();"),
    );
  }
  assert.equal((await agent.get("/patient")).status, 200, "the session goes on once the database takes writes again");
});

test("pruning removes expired sessions, old login attempts and challenges, and keeps the audit log", async () => {
  const user = await t.createUser("patient");
  const { db } = t.database;
  await db.query("INSERT INTO session (sid, sess, expire) VALUES ('expired-one', '{}', now() - interval '1 minute')");
  await db.query("INSERT INTO session (sid, sess, expire) VALUES ('live-one', '{}', now() + interval '1 hour')");
  const now = t.clock.now();
  const old = new Date(now.getTime() - 8 * 24 * 60 * 60_000);
  const recent = new Date(now.getTime() - 60 * 60_000);
  for (const [id, at] of [
    ["old-attempt", old],
    ["recent-attempt", recent],
  ] as const) {
    await db.query(
      "INSERT INTO login_attempts (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $3::timestamptz + interval '10 minutes')",
      [id, user.id, at],
    );
    await db.query(
      `INSERT INTO phone_challenges (token, user_id, login_attempt_id, channel, purpose, phone_e164, created_at, expires_at)
       VALUES ($2 || '-token', $1, $2, 'sms', 'login', '+31612345678', $3, $3::timestamptz + interval '5 minutes')`,
      [user.id, id, at],
    );
  }
  const auditBefore = Number((await db.query("SELECT count(*)::int AS n FROM audit_events")).rows[0]?.n);

  const counts = await t.services.retention.pruneExpiredRecords();

  const sids = (await db.query<{ sid: string }>("SELECT sid FROM session WHERE sid IN ('expired-one', 'live-one')")).rows;
  assert.deepEqual(
    sids.map((row) => row.sid),
    ["live-one"],
  );
  const attempts = (await db.query<{ id: string }>("SELECT id FROM login_attempts WHERE user_id = $1", [user.id])).rows;
  assert.deepEqual(
    attempts.map((row) => row.id),
    ["recent-attempt"],
  );
  const challenges = await db.query("SELECT 1 FROM phone_challenges WHERE user_id = $1", [user.id]);
  assert.equal(challenges.rowCount, 1, "only the recent challenge is kept");
  assert.ok(counts.sessions >= 1 && counts.loginAttempts >= 1 && (counts.phoneChallenges ?? 0) >= 1);
  assert.equal(
    Number((await db.query("SELECT count(*)::int AS n FROM audit_events")).rows[0]?.n),
    auditBefore,
    "audit events are kept",
  );
});

test("a user's sessions are counted and ended through an index on their user, not by reading every session", async () => {
  const user = await t.createUser("patient");
  const other = await t.createUser("patient");
  // Rows as the session store writes them: the user id is only in the JSON.
  for (const [sid, userId] of [
    ["kept-session", user.id],
    ["other-session", user.id],
    ["another-user", other.id],
  ] as const) {
    await t.database.db.query("INSERT INTO session (sid, sess, expire) VALUES ($1, $2, now() + interval '1 hour')", [
      sid,
      JSON.stringify({ cookie: { path: "/" }, userId, stage: "complete" }),
    ]);
  }
  const kept = "kept-session";
  const log = logStatements(t.database.db);
  const sessions = createSessionService({ db: log.db });

  assert.equal(await sessions.countUserSessions(user.id), 2);
  assert.equal((await sessions.invalidateUserSessions(user.id, kept)).count, 1, "the other session of the user ends");
  assert.equal(await sessions.countUserSessions(user.id), 1);
  assert.equal(await sessions.countUserSessions(other.id), 1, "another user's session is left alone");

  // How PostgreSQL runs each statement that read or changed the session table, with sequential
  // scans made as costly as it allows: a query that cannot use an index still scans.
  const onSessions = log.statements.filter((statement) => /\bsession\b/.test(statement.sql));
  assert.ok(onSessions.length >= 3);
  for (const statement of onSessions) {
    const plan = await t.database.db.transaction(async (tx) => {
      await tx.query("SET LOCAL enable_seqscan = off");
      const { rows } = await tx.query(`EXPLAIN ${statement.sql}`, statement.params);
      return rows.map((row) => String(Object.values(row)[0])).join("\n");
    });
    assert.doesNotMatch(plan, /Seq Scan on session/, `${statement.sql}\n${plan}`);
    assert.match(plan, /session_user_id/, plan);
  }
});
