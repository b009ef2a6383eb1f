import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import request from "supertest";
import { runMigrations } from "../../src/db/migrate.js";
import { csrfFrom, logIn, sessionCookieOf, startTestApp, type TestApp, type TestUser } from "../support/app.js";
import { withOwnerDatabase } from "../support/database.js";

let t: TestApp;
let patient: TestUser;
let otherPatient: TestUser;
let doctor: TestUser;
let admin: TestUser;

before(async () => {
  t = await startTestApp();
  patient = await t.createUser("patient", { name: "Pat Jansen" });
  otherPatient = await t.createUser("patient", { name: "Other Person" });
  doctor = await t.createUser("doctor", { name: "Dr. Visser" });
  admin = await t.createUser("admin", { name: "Ada Admin", password: "a long admin password 15+" });
  await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
});
after(() => t.close());

async function auditTypes(userId: number): Promise<string[]> {
  const events = await t.services.audit.listEventsForUser(userId, 50);
  return events.map((event) => event.type);
}

describe("password login", () => {
  test("each role lands on its own home page", async () => {
    const cases = [
      { user: patient, home: "/patient", shows: "Dr. Visser" },
      { user: doctor, home: "/doctor", shows: "Pat Jansen" },
      { user: admin, home: "/admin", shows: "Administration" },
    ];
    for (const { user, home, shows } of cases) {
      const { agent, response } = await t.logIn(user);
      assert.equal(response.status, 303);
      assert.equal(response.headers.location, "/");
      const root = await agent.get("/");
      assert.equal(root.headers.location, home);
      const page = await agent.get(home);
      assert.equal(page.status, 200);
      assert.match(page.text, new RegExp(shows));
      assert.match(page.text, new RegExp(user.name));
    }
  });

  test("the patient page shows their doctor and links to security settings", async () => {
    const { agent } = await logIn(t.app, patient.email, patient.password);
    const page = await agent.get("/patient");
    assert.match(page.text, /Dr\. Visser/);
    assert.match(page.text, /href="\/account\/security"/);
    assert.equal((await agent.get("/account/security")).status, 200);
  });

  test("email is matched whatever its case", async () => {
    const { response } = await logIn(t.app, patient.email.toUpperCase(), patient.password);
    assert.equal(response.status, 303);
  });

  test("wrong password and unknown email give the same status and page", async () => {
    const wrong = await logIn(t.app, patient.email, "not the right password at all");
    const unknown = await logIn(t.app, "nobody@example.test", "not the right password at all");
    assert.equal(wrong.response.status, 401);
    assert.equal(unknown.response.status, wrong.response.status);
    const normalise = (html: string, email: string) => html.replace(/name="_csrf" value="[^"]+"/g, "").replaceAll(email, "EMAIL");
    assert.equal(normalise(unknown.response.text, "nobody@example.test"), normalise(wrong.response.text, patient.email));
    assert.match(wrong.response.text, /email address or password is not right/);
    assert.ok((await auditTypes(patient.id)).includes("login.failed"));
  });

  test("a session id is replaced at login; the old one is dead", async () => {
    // A visitor who only opened the login page has no stored session; one half-way through a
    // login does. Logging in again from there must not keep its id (no fixation).
    const { agent, response: first } = await logIn(t.app, doctor.email, doctor.password);
    const before = sessionCookieOf(first);
    assert.ok(before, "the password step starts a session");
    const page = await agent.get("/login");
    const response = await agent
      .post("/login")
      .type("form")
      .send({ email: doctor.email, password: doctor.password, _csrf: csrfFrom(page.text) });
    const afterLogin = sessionCookieOf(response);
    assert.ok(afterLogin);
    assert.notEqual(afterLogin, before);
    const { rows } = await t.database.db.query("SELECT sid FROM session WHERE sid = $1", [
      decodeURIComponent(before!.split("=")[1]!).slice(2).split(".")[0],
    ]);
    assert.equal(rows.length, 0, "the earlier session row is gone");
    assert.equal((await request(t.app).get("/doctor").set("Cookie", before!)).headers.location, "/login?ended=1");
  });

  test("a visit of the login page stores no session, and its form still works", async () => {
    const countSessions = async () => Number((await t.database.db.query("SELECT count(*)::int AS n FROM session")).rows[0]?.n);
    const rowsBefore = await countSessions();
    for (let visit = 0; visit < 200; visit += 1) {
      const page = await request(t.app).get("/login");
      assert.equal(page.status, 200);
      assert.equal(sessionCookieOf(page), undefined, "no session cookie for a visitor");
    }
    assert.ok((await countSessions()) - rowsBefore <= 2, "200 visits of the login page add no session rows");
    const { response } = await logIn(t.app, otherPatient.email, otherPatient.password);
    assert.equal(response.status, 303, "the login form works without a stored session");
    const forged = await request(t.app)
      .post("/login")
      .type("form")
      .send({ email: otherPatient.email, password: otherPatient.password, _csrf: "a".repeat(256) })
      .set("Cookie", `portal.csrf=${"b".repeat(256)}`);
    assert.equal(forged.status, 403, "a token that does not match its cookie is refused");
    const noCookie = await request(t.app)
      .post("/login")
      .type("form")
      .send({ email: otherPatient.email, password: otherPatient.password, _csrf: "a".repeat(256) });
    assert.equal(noCookie.status, 403, "a token without its cookie is refused");
    for (const [cookie, token] of [
      ["portal.csrf=", ""],
      ["portal.csrf=a", "a"],
      [`portal.csrf=${"c".repeat(256)}`, "c".repeat(256)],
      [`portal.csrf=${"c".repeat(256)}.forged`, "c".repeat(256)],
    ]) {
      const planted = await request(t.app)
        .post("/login")
        .type("form")
        .send({ email: otherPatient.email, password: otherPatient.password, _csrf: token })
        .set("Cookie", cookie!);
      assert.equal(planted.status, 403, `a cookie the portal did not issue is no token: ${cookie!.slice(0, 20)}`);
    }
  });

  test("login success and logout are audited", async () => {
    const { agent } = await logIn(t.app, otherPatient.email, otherPatient.password);
    const home = await agent.get("/patient");
    await agent
      .post("/logout")
      .type("form")
      .send({ _csrf: csrfFrom(home.text) });
    const types = await auditTypes(otherPatient.id);
    assert.ok(types.includes("login.succeeded"));
    assert.ok(types.includes("logout"));
    assert.ok(types.includes("user.created"));
  });
});

describe("role pages", () => {
  test("a patient gets 403 on doctor and admin pages", async () => {
    const { agent } = await logIn(t.app, patient.email, patient.password);
    for (const path of ["/doctor", `/doctor/patients/${patient.id}`, "/admin"]) {
      const response = await agent.get(path);
      assert.equal(response.status, 403, path);
      assert.match(response.text, /Not allowed/);
    }
  });

  test("a doctor sees their patient's details and 404 for anyone else", async () => {
    const { agent } = await t.logIn(doctor);
    const own = await agent.get(`/doctor/patients/${patient.id}`);
    assert.equal(own.status, 200);
    assert.match(own.text, /Pat Jansen/);
    assert.equal((await agent.get(`/doctor/patients/${otherPatient.id}`)).status, 404);
    assert.equal((await agent.get("/doctor/patients/999999")).status, 404);
    assert.equal((await agent.get("/doctor/patients/not-a-number")).status, 404);
    assert.equal((await agent.get("/admin")).status, 403);
  });

  test("signed-out visitors are sent to the login page", async () => {
    for (const path of ["/", "/patient", "/doctor", "/admin", "/account/security"]) {
      const response = await request(t.app).get(path);
      assert.equal(response.status, 302, path);
      assert.equal(response.headers.location, "/login");
    }
  });
});

describe("logout", () => {
  test("destroys the session on the server and clears cookies", async () => {
    const { agent, response } = await logIn(t.app, patient.email, patient.password);
    const cookie = sessionCookieOf(response)!;
    const home = await agent.get("/patient");
    const out = await agent
      .post("/logout")
      .type("form")
      .send({ _csrf: csrfFrom(home.text) });
    assert.equal(out.status, 303);
    assert.equal(out.headers["clear-site-data"], '"cookies"');
    const replay = await request(t.app).get("/patient").set("Cookie", cookie);
    assert.equal(replay.headers.location, "/login?ended=1");
  });

  test("is not possible by GET", async () => {
    const { agent } = await logIn(t.app, patient.email, patient.password);
    assert.equal((await agent.get("/logout")).status, 404);
    assert.equal((await agent.get("/patient")).status, 200);
  });
});

describe("session timeouts", () => {
  test("15 minutes idle ends the session", async () => {
    const { agent } = await logIn(t.app, patient.email, patient.password);
    t.clock.advanceMinutes(14);
    assert.equal((await agent.get("/patient")).status, 200, "activity within 15 minutes keeps it alive");
    t.clock.advanceMinutes(14);
    assert.equal((await agent.get("/patient")).status, 200);
    t.clock.advanceMinutes(16);
    const response = await agent.get("/patient");
    assert.equal(response.headers.location, "/login?expired=1");
    const login = await agent.get("/login?expired=1");
    assert.match(login.text, /session ended/);
  });

  test("8 hours after login the session ends even when active", async () => {
    const { agent } = await logIn(t.app, patient.email, patient.password);
    // One request every 10 minutes keeps it from going idle.
    for (let minutes = 10; minutes <= 8 * 60; minutes += 10) {
      t.clock.advanceMinutes(10);
      const response = await agent.get("/patient");
      if (minutes < 8 * 60) assert.equal(response.status, 200, `still signed in after ${minutes} minutes`);
      else assert.equal(response.headers.location, "/login?expired=1", "ended at 8 hours");
    }
  });
});

describe("CSRF and origin", () => {
  test("a POST without or with a wrong token is refused with 403", async () => {
    const agent = request.agent(t.app);
    await agent.get("/login");
    const missing = await agent.post("/login").type("form").send({ email: patient.email, password: patient.password });
    assert.equal(missing.status, 403);
    assert.match(missing.text, /form has expired/);
    const wrong = await agent
      .post("/login")
      .type("form")
      .send({ email: patient.email, password: patient.password, _csrf: "forged" });
    assert.equal(wrong.status, 403);
  });

  test("a POST from another origin is refused even with a valid token", async () => {
    const agent = request.agent(t.app);
    const page = await agent.get("/login");
    const response = await agent
      .post("/login")
      .set("Origin", "https://evil.example")
      .type("form")
      .send({ email: patient.email, password: patient.password, _csrf: csrfFrom(page.text) });
    assert.equal(response.status, 403);
    const same = await agent
      .post("/login")
      .set("Origin", "http://portal.test")
      .type("form")
      .send({ email: patient.email, password: patient.password, _csrf: csrfFrom(page.text) });
    assert.equal(same.status, 303);
  });
});

describe("malformed input", () => {
  test("arrays, oversized fields and oversized bodies get 400 with a readable message", async () => {
    const agent = request.agent(t.app);
    const page = await agent.get("/login");
    const csrf = csrfFrom(page.text);
    const arrays = await agent.post("/login").type("form").send(`email=a%40b.test&email=c%40d.test&password=x&_csrf=${csrf}`);
    assert.equal(arrays.status, 400);
    assert.match(arrays.text, /Log in/);
    const long = await agent
      .post("/login")
      .type("form")
      .send({ email: `${"a".repeat(300)}@x.test`, password: "x", _csrf: csrf });
    assert.equal(long.status, 400);
    assert.match(long.text, /At most 254 characters/);
    const huge = await agent
      .post("/login")
      .type("form")
      .send({ email: "a@b.test", password: "x".repeat(40_000), _csrf: csrf });
    assert.equal(huge.status, 400);
    assert.match(huge.text, /more data than this page accepts/);
    const notEmail = await agent.post("/login").type("form").send({ email: "not-an-email", password: "x", _csrf: csrf });
    assert.equal(notEmail.status, 400);
  });
});

describe("headers and cookies", () => {
  test("strict CSP and the other security headers are sent", async () => {
    const response = await request(t.app).get("/login");
    const csp = String(response.headers["content-security-policy"]);
    assert.match(csp, /object-src 'none'/);
    assert.match(csp, /base-uri 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(response.headers["x-content-type-options"], "nosniff");
    assert.equal(response.headers["x-powered-by"], undefined);
  });

  test("no page may be framed: X-Frame-Options DENY agrees with frame-ancestors 'none'", async () => {
    const { agent } = await logIn(t.app, patient.email, patient.password);
    const pages = {
      "/login": await request(t.app).get("/login"),
      "/patient": await agent.get("/patient"),
      "a 404 page": await agent.get("/no-such-page"),
    };
    for (const [name, response] of Object.entries(pages)) {
      assert.equal(response.headers["x-frame-options"], "DENY", name);
      assert.match(String(response.headers["content-security-policy"]), /frame-ancestors 'none'/, name);
    }
  });

  test("signed-in pages are not cached", async () => {
    const { agent } = await logIn(t.app, patient.email, patient.password);
    const response = await agent.get("/patient");
    assert.equal(response.headers["cache-control"], "no-store");
  });

  test("the session cookie is HttpOnly and SameSite=Lax, without Domain", async () => {
    const { response } = await logIn(t.app, patient.email, patient.password);
    const cookie = ([] as string[]).concat(response.headers["set-cookie"] ?? []).find((c) => c.startsWith("portal.sid="))!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /Domain=/i);
  });
});

describe("health", () => {
  test("/healthz and /readyz answer JSON", async () => {
    const health = await request(t.app).get("/healthz");
    assert.deepEqual(health.body, { status: "ok" });
    const ready = await request(t.app).get("/readyz");
    assert.equal(ready.status, 200);
    assert.equal(ready.body.database, "ok");
    // The test clock stands in March while the database lives in the present: that is reported.
    assert.match(ready.body.clock, /clock is \d+ s behind the database server's/);
    t.clock.set(new Date());
    assert.equal((await request(t.app).get("/readyz")).body.clock, "ok");
  });

  test("unknown pages get the 404 page in the layout", async () => {
    const response = await request(t.app).get("/no-such-page");
    assert.equal(response.status, 404);
    assert.match(response.text, /Page not found/);
    assert.match(response.text, /<header class="site-header">/);
  });
});

describe("database", () => {
  test("migrations run twice are a no-op", async () => {
    assert.deepEqual(await runMigrations(t.database.ownerConnectionString), []);
  });

  test("the audit table refuses UPDATE, DELETE and TRUNCATE, even from its owner", async () => {
    await withOwnerDatabase(t.database, async (db) => {
      const { rows } = await db.query("SELECT count(*)::int AS n FROM audit_events");
      assert.ok(Number(rows[0]!.n) > 0);
      await assert.rejects(db.query("UPDATE audit_events SET event_type = 'x'"), /append-only/);
      await assert.rejects(db.query("DELETE FROM audit_events"), /append-only/);
      await assert.rejects(db.query("TRUNCATE audit_events"), /append-only/);
      const again = await db.query("SELECT count(*)::int AS n FROM audit_events");
      assert.equal(again.rows[0]!.n, rows[0]!.n);
    });
  });

  test("the app's own database role cannot alter the audit table, disable its triggers or change its rows; the app works", {
    skip: process.env.DATABASE_URL ? false : "the embedded database has one role (see README)",
  }, async () => {
    const db = t.database.db;
    const { rows } = await db.query(
      `SELECT current_user AS me, rolsuper AS superuser,
           (SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'audit_events') AS owner
         FROM pg_roles WHERE rolname = current_user`,
    );
    assert.notEqual(rows[0]!.me, rows[0]!.owner, "the app does not own the table");
    assert.equal(rows[0]!.superuser, false);
    const before = await db.query("SELECT count(*)::int AS n FROM audit_events");
    for (const sql of [
      "ALTER TABLE audit_events ADD COLUMN note text",
      "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_or_delete",
      "ALTER TABLE audit_events DISABLE TRIGGER ALL",
      "DROP TRIGGER audit_events_no_update_or_delete ON audit_events",
      "CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
      "SET session_replication_role = replica",
      "UPDATE audit_events SET event_type = 'x'",
      "DELETE FROM audit_events",
      "TRUNCATE audit_events",
    ]) {
      await assert.rejects(db.query(sql), /permission denied|must be owner/, sql);
    }
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query("SET LOCAL session_replication_role = replica");
        await tx.query("DELETE FROM audit_events");
      }),
      /permission denied/,
    );
    const after = await db.query("SELECT count(*)::int AS n FROM audit_events");
    assert.equal(after.rows[0]!.n, before.rows[0]!.n);

    // The same role runs the whole portal: a doctor logs in with password and app code.
    const { agent, response } = await t.logIn(doctor);
    assert.equal(response.headers.location, "/");
    assert.equal((await agent.get("/doctor")).status, 200);
  });

  test("the audit log holds no passwords", async () => {
    const { rows } = await t.database.db.query("SELECT details::text AS d, user_agent FROM audit_events");
    for (const row of rows) assert.ok(!String(row.d).includes(patient.password));
  });
});
