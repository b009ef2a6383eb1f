import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import request from "supertest";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { createAdminService, formatCsvCell } from "../../src/services/admin/index.js";
import { noRequestContext } from "../../src/services/audit.js";
import { adminRoutes } from "../../src/web/routes/admin.js";
import { csrfFrom, logIn, startTestApp, submitForm, type TestApp } from "../support/app.js";
import { withOwnerDatabase } from "../support/database.js";

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

let markerCounter = 0;
/** A string no other test uses, for names and emails that searches can find. */
function uniqueMarker(prefix: string): string {
  markerCounter += 1;
  return `${prefix}${markerCounter}x${Date.now().toString(36)}`;
}

async function signedInAdmin() {
  const admin = await t.createUser("admin");
  const { agent, response } = await t.logIn(admin);
  assert.equal(response.headers.location, "/", "the admin is fully signed in");
  return { admin, agent };
}

/** Posts a form the way a browser would: with the session's CSRF token. */
async function postForm(agent: request.Agent, action: string, fields: Record<string, string> = {}, userAgent?: string) {
  const page = await agent.get("/account/security");
  const call = agent.post(action).type("form");
  if (userAgent) call.set("User-Agent", userAgent);
  return call.send({ ...fields, _csrf: csrfFrom(page.text) });
}

const userLinks = (html: string) => [...html.matchAll(/href="\/admin\/users\/(\d+)"/g)].map((match) => Number(match[1]));

async function userRow(id: number) {
  const { rows } = await t.database.db.query(
    `SELECT role, must_change_password, disabled_at, failed_login_count, login_blocked_until,
       second_factor_failures, second_factor_locked_until
     FROM users WHERE id = $1`,
    [id],
  );
  return rows[0]!;
}

async function sessionRows(userId: number): Promise<number> {
  const { rows } = await t.database.db.query("SELECT count(*)::int AS n FROM session WHERE (sess::jsonb ->> 'userId') = $1", [
    String(userId),
  ]);
  return Number(rows[0]!.n);
}

/** The types of the audit events the user acted in, oldest first. */
async function eventsBy(userId: number): Promise<string[]> {
  const { rows } = await t.database.db.query("SELECT event_type FROM audit_events WHERE actor_user_id = $1 ORDER BY id", [
    userId,
  ]);
  return rows.map((row) => row.event_type as string);
}

async function eventsOf(userId: number, type: string) {
  return (await t.services.audit.listEventsForUser(userId, 200)).filter((event) => event.type === type);
}

/** Every visible input, select and textarea has a <label for> naming it. */
function assertEveryInputLabelled(html: string, page: string) {
  const controls = [...html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)].filter((match) => !/type="hidden"/.test(match[2]!));
  for (const control of controls) {
    const id = control[2]!.match(/\bid="([^"]+)"/)?.[1];
    assert.ok(id, `${page}: a ${control[1]} without an id`);
    assert.match(html, new RegExp(`<label for="${id}">`), `${page}: no label for #${id}`);
  }
}

/** RFC 4180, enough for the export. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(cell);
      cell = "";
    } else if (char === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += char;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

const amsterdamDate = (date: Date) => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Amsterdam" }).format(date);
const dayOffset = (days: number) => amsterdamDate(new Date(t.clock.now().getTime() + days * 86_400_000));

// Every route of the admin router ("POST /users/:id/role"), so that a route added later is covered
// without editing the tests that go through them all.
function listAdminRoutes() {
  const router = adminRoutes({ ...t.services, clock: t.clock });
  const stack = (router as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack;
  return stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route!.methods)
        .filter((method) => layer.route!.methods[method])
        .map((method) => `${method.toUpperCase()} ${layer.route!.path}`),
    );
}

describe("who may use the administration", () => {
  test("the route table is the one documented", () => {
    assert.deepEqual(listAdminRoutes().sort(), [
      "GET /",
      "GET /audit",
      "GET /audit.csv",
      "GET /users",
      "GET /users/:id",
      "GET /users/:id/reset-2fa",
      "GET /users/new",
      "POST /users/:id/disable",
      "POST /users/:id/doctors",
      "POST /users/:id/doctors/:doctorId/unassign",
      "POST /users/:id/enable",
      "POST /users/:id/patients",
      "POST /users/:id/patients/:patientId/unassign",
      "POST /users/:id/reset-2fa",
      "POST /users/:id/role",
      "POST /users/:id/unlock",
      "POST /users/new",
    ]);
  });

  test("a patient and a doctor get 403 on every admin route, by GET and by POST, and nothing changes", async () => {
    const patient = await t.createUser("patient");
    const doctor = await t.createUser("doctor");
    const target = await t.createUser("doctor");
    await t.services.users.linkPatientToDoctor(target.id, patient.id);
    const ids: Record<string, number> = { id: target.id, patientId: patient.id, doctorId: target.id };
    const paths = [...new Set(listAdminRoutes().map((route) => route.split(" ")[1]!))].map((routePath) =>
      `/admin${routePath === "/" ? "" : routePath}`.replace(/:(\w+)/g, (_match, name: string) => String(ids[name])),
    );
    assert.ok(paths.length >= 12);
    paths.push("/admin/", "/admin/no-such-page");

    for (const user of [patient, doctor]) {
      const { agent } = await t.logIn(user);
      assert.equal((await agent.get(user.role === "doctor" ? "/doctor" : "/patient")).status, 200, "signed in");
      for (const adminPath of paths) {
        assert.doesNotMatch(adminPath, /:/);
        const page = await agent.get(adminPath);
        assert.equal(page.status, 403, `${user.role} GET ${adminPath}`);
        assert.match(page.text, /Not allowed/);
        const posted = await postForm(agent, adminPath, { reason: "no", role: "admin", patient: String(patient.id) });
        assert.equal(posted.status, 403, `${user.role} POST ${adminPath}`);
        assert.match(posted.text, /You do not have access to this page/, "refused by the role, not by the CSRF check");
      }
    }
    assert.equal((await userRow(target.id)).role, "doctor");
    assert.equal(await t.services.twoFactor.hasSecondFactor(target.id), true);
    assert.equal((await t.services.users.listPatientsOfDoctor(target.id)).length, 1);
    assert.equal((await userRow(target.id)).disabled_at, null);
  });

  test("someone not signed in is sent to the login page", async () => {
    const agent = request.agent(t.app);
    for (const adminPath of ["/admin", "/admin/users", "/admin/audit.csv"]) {
      assert.equal((await agent.get(adminPath)).headers.location, "/login", adminPath);
    }
  });
});

describe("the user a page is about", () => {
  test("every route with :id answers 404 for a user that does not exist, by GET and by POST, and writes nothing", async () => {
    const { admin, agent } = await signedInAdmin();
    const doctor = await t.createUser("doctor");
    const patient = await t.createUser("patient");
    await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
    const routes = listAdminRoutes().filter((route) => route.includes("/:id"));
    assert.ok(routes.length >= 11, routes.join(", "));
    const eventsBefore = await eventsBy(admin.id);
    // The largest number that passes the form check, a number nobody has, and things that are no number.
    for (const id of ["999999999999999", "999999999", "0", "abc", "1e3", "-1"]) {
      for (const route of routes) {
        const [method, routePath] = route.split(" ") as [string, string];
        const url = `/admin${routePath}`
          .replace(":id", id)
          .replace(":patientId", String(patient.id))
          .replace(":doctorId", String(doctor.id));
        const response =
          method === "GET"
            ? await agent.get(url)
            : await postForm(agent, url, { role: "admin", reason: "Lost phone", patient: patient.email, doctor: doctor.email });
        assert.equal(response.status, 404, `${method} ${url}`);
        assert.match(response.text, /There is no user with that number/, `${method} ${url}`);
      }
    }
    assert.deepEqual(await eventsBy(admin.id), eventsBefore, "nothing was recorded, so nothing was done");
    assert.equal((await t.services.users.listPatientsOfDoctor(doctor.id)).length, 1);
    assert.equal(await t.services.twoFactor.hasSecondFactor(doctor.id), true);
  });
});

describe("the user list", () => {
  test("searches name and email without regard to case, and filters on role, two-step login, lock and disabled", async () => {
    const { agent } = await signedInAdmin();
    const marker = uniqueMarker("Quokka");
    const byName = await t.createUser("patient", { name: `Anna ${marker}` });
    const byEmail = await t.createUser("patient", { email: `${marker.toLowerCase()}@example.test`, name: "Bram Bos" });
    const doctor = await t.createUser("doctor", { name: `Dr. ${marker}` });
    const blocked = await t.createUser("patient", { name: `Blocked ${marker}` });
    const codesLocked = await t.createUser("patient", { name: `Codes ${marker}` });
    const disabled = await t.createUser("patient", { name: `Gone ${marker}` });
    const phoneOnly = await t.createUser("patient", { name: `Phone ${marker}` });
    await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, $3)", [
      phoneOnly.id,
      "+31612345678",
      t.clock.now(),
    ]);
    const future = new Date(t.clock.now().getTime() + 60 * 60_000);
    await t.database.db.query("UPDATE users SET login_blocked_until = $2, failed_login_count = 7 WHERE id = $1", [
      blocked.id,
      future,
    ]);
    await t.database.db.query("UPDATE users SET second_factor_locked_until = $2 WHERE id = $1", [codesLocked.id, future]);
    await t.database.db.query("UPDATE users SET disabled_at = $2 WHERE id = $1", [disabled.id, t.clock.now()]);
    const everyone = [byName, byEmail, doctor, blocked, codesLocked, disabled, phoneOnly].map((user) => user.id).sort();

    const list = async (query: Record<string, string>) => {
      const response = await agent.get("/admin/users").query(query);
      assert.equal(response.status, 200, JSON.stringify(query));
      assertEveryInputLabelled(response.text, "/admin/users");
      return userLinks(response.text).sort();
    };
    assert.deepEqual(await list({ q: marker.toUpperCase() }), everyone);
    assert.deepEqual(await list({ q: marker.toLowerCase() }), everyone);
    assert.deepEqual(await list({ q: `${marker.toLowerCase()}@EXAMPLE` }), [byEmail.id]);
    assert.deepEqual(await list({ q: marker, role: "doctor" }), [doctor.id]);
    const withFactor = [doctor.id, phoneOnly.id].sort();
    assert.deepEqual(await list({ q: marker, twofactor: "on" }), withFactor);
    assert.deepEqual(
      await list({ q: marker, twofactor: "off" }),
      everyone.filter((id) => !withFactor.includes(id)),
    );
    assert.deepEqual(await list({ q: marker, locked: "yes" }), [blocked.id, codesLocked.id].sort());
    assert.deepEqual(await list({ q: marker, disabled: "yes" }), [disabled.id]);
    assert.deepEqual(
      await list({ q: marker, disabled: "no", locked: "no", role: "patient", twofactor: "off" }),
      [byName.id, byEmail.id].sort(),
    );
    assert.deepEqual(await list({ q: `${marker}-nobody` }), []);

    // A search term is text, not a pattern.
    assert.deepEqual(await list({ q: "%" }), []);
    assert.equal((await agent.get("/admin/users").query({ role: "nurse" })).status, 400);
    assert.equal((await agent.get("/admin/users?q=a&q=b")).status, 400, "arrays are refused");
  });

  test("25 per page, with previous and next links that keep the filters", async () => {
    const { agent } = await signedInAdmin();
    const marker = uniqueMarker("Wombat");
    for (let i = 0; i < 27; i++)
      await t.createUser("patient", { name: `${marker} ${String(i).padStart(2, "0")}`, withApp: false });
    await t.createUser("doctor", { name: `${marker} doctor` });

    const first = await agent.get("/admin/users").query({ q: marker, role: "patient" });
    assert.equal(userLinks(first.text).length, 25);
    assert.match(first.text, /27 users · page 1 of 2/);
    const next = first.text.match(/href="([^"]+)" rel="next"/)?.[1]?.replaceAll("&amp;", "&");
    assert.ok(next, "a next link");
    assert.equal(next, `/admin/users?q=${marker}&role=patient&page=2`);
    assert.doesNotMatch(first.text, /rel="prev"/);

    const second = await agent.get(next);
    assert.equal(userLinks(second.text).length, 2);
    const previous = second.text.match(/href="([^"]+)" rel="prev"/)?.[1]?.replaceAll("&amp;", "&");
    assert.equal(previous, `/admin/users?q=${marker}&role=patient`);
    assert.doesNotMatch(second.text, /rel="next"/);
    assert.equal(userLinks((await agent.get(`/admin/users?q=${marker}&role=patient&page=99`)).text).length, 2, "clamped");
  });

  test("a user's page shows role, methods, recovery codes, sessions, dates and links", async () => {
    const { agent } = await signedInAdmin();
    const doctor = await t.createUser("doctor");
    const patient = await t.createUser("patient");
    await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
    await t.services.recoveryCodes.regenerateRecoveryCodes(doctor.id);
    await t.logIn(doctor);

    const page = await agent.get(`/admin/users/${doctor.id}`);
    assert.equal(page.status, 200);
    assertEveryInputLabelled(page.text, "user page");
    assert.match(page.text, /<dt>Role<\/dt><dd>doctor<\/dd>/);
    assert.match(page.text, /<li>With an authenticator app<\/li>/);
    assert.match(page.text, /<dt>Recovery codes left<\/dt><dd>10<\/dd>/);
    assert.match(page.text, /<dt>Active sessions<\/dt><dd>1<\/dd>/);
    assert.match(page.text, /<dt>Last login<\/dt><dd>\d/);
    assert.match(page.text, /<dt>Created<\/dt><dd>\d/);
    assert.match(page.text, new RegExp(`href="/admin/users/${patient.id}"`));
    assert.match(page.text, /href="\/admin\/users\/\d+\/reset-2fa"/);

    const patientPage = await agent.get(`/admin/users/${patient.id}`);
    assert.match(patientPage.text, new RegExp(`href="/admin/users/${doctor.id}"`));
    assert.match(patientPage.text, /<dt>Methods<\/dt>\s*<dd>\s*None/);
    assert.equal((await agent.get("/admin/users/999999999")).status, 404);
    assert.equal((await agent.get("/admin/users/abc")).status, 404);
  });
});

describe("creating a user", () => {
  test("creates the account with a forced password change; the user can log in with that password", async () => {
    const { admin, agent } = await signedInAdmin();
    const form = await agent.get("/admin/users/new");
    assert.equal(form.status, 200);
    assertEveryInputLabelled(form.text, "/admin/users/new");
    const email = `${uniqueMarker("new")}@Example.test`;
    const password = "violet kettle marathon 42";
    const created = await postForm(agent, "/admin/users/new", {
      name: "Nina Nieuw",
      email,
      role: "patient",
      password,
      passwordRepeat: password,
    });
    assert.equal(created.status, 303);
    const id = Number(created.headers.location?.match(/^\/admin\/users\/(\d+)$/)?.[1]);
    assert.ok(id > 0);
    const row = await userRow(id);
    assert.equal(row.must_change_password, true);
    assert.equal(row.role, "patient");
    const page = await agent.get(created.headers.location!);
    assert.match(page.text, /must choose a new password/);
    assert.match(page.text, /Must be changed at the next login/);
    const [event] = await eventsOf(id, "admin.user_created");
    assert.equal(event?.actorUserId, admin.id);

    const login = await logIn(t.app, email.toLowerCase(), password);
    assert.equal(login.response.status, 303, "the password is accepted");
    assert.notEqual(login.response.headers.location, "/login");
  });

  test("explains what is wrong: weak or mismatched password, bad email, duplicate email", async () => {
    const { agent } = await signedInAdmin();
    const existing = await t.createUser("patient");
    const base = {
      name: "Someone",
      email: `${uniqueMarker("form")}@example.test`,
      role: "patient",
      password: "violet kettle marathon 43",
      passwordRepeat: "violet kettle marathon 43",
    };
    const cases: [Record<string, string>, RegExp][] = [
      [{ password: "short", passwordRepeat: "short" }, /at least 12 characters/],
      [{ role: "admin", password: "mauve otter 71", passwordRepeat: "mauve otter 71" }, /at least 15 characters/],
      [{ password: "password1234", passwordRepeat: "password1234" }, /most common passwords/],
      [{ passwordRepeat: "something else entirely" }, /The two passwords differ/],
      [{ email: "not-an-email" }, /valid email address/],
      [{ name: "   " }, /Enter the person&#39;s name/],
      [{ role: "nurse" }, /Choose a role/],
      [{ email: existing.email.toUpperCase() }, /already exists/],
    ];
    for (const [change, message] of cases) {
      const response = await postForm(agent, "/admin/users/new", { ...base, ...change });
      assert.equal(response.status, 400, JSON.stringify(change));
      assert.match(response.text, message);
      assert.match(response.text, /role="alert"/);
    }
    assert.equal(await t.services.users.findUserByEmail(base.email), null, "nothing was created");
  });
});

describe("resetting a second factor", () => {
  test("removes factors and recovery codes, ends the user's live session at once, and forces a doctor to enrol", async () => {
    const { admin, agent } = await signedInAdmin();
    const doctor = await t.createUser("doctor");
    await t.services.recoveryCodes.regenerateRecoveryCodes(doctor.id);
    const { agent: doctorAgent } = await t.logIn(doctor);
    assert.equal((await doctorAgent.get("/doctor")).status, 200);

    const reset = await postForm(agent, `/admin/users/${doctor.id}/reset-2fa`, { reason: "Lost phone, called the practice" });
    assert.equal(reset.status, 303);
    assert.equal(reset.headers.location, `/admin/users/${doctor.id}`);
    const page = await agent.get(reset.headers.location!);
    assert.match(page.text, /was reset/);
    assert.match(page.text, /must set up a new method at their next login/);

    const next = await doctorAgent.get("/doctor");
    assert.equal(next.status, 302);
    assert.equal(next.headers.location, "/login?ended=1");
    assert.equal(await sessionRows(doctor.id), 0);
    assert.equal(await t.services.twoFactor.hasSecondFactor(doctor.id), false);
    assert.equal(await t.services.recoveryCodes.countRemainingCodes(doctor.id), 0);
    const { rows } = await t.database.db.query("SELECT count(*)::int AS n FROM totp_factors WHERE user_id = $1", [doctor.id]);
    assert.equal(rows[0]!.n, 0);

    const [event] = await eventsOf(doctor.id, "2fa.reset");
    assert.ok(event);
    assert.equal(event.actorUserId, admin.id);
    assert.equal(event.subjectUserId, doctor.id);
    assert.equal(event.details.reason, "Lost phone, called the practice");
    assert.deepEqual(event.details.removedMethods, ["app"]);
    assert.equal(event.details.recoveryCodesRemoved, 10);

    const again = await logIn(t.app, doctor.email, doctor.password);
    assert.equal(again.response.headers.location, "/enrol");
  });

  test("requires a reason", async () => {
    const { agent } = await signedInAdmin();
    const doctor = await t.createUser("doctor");
    for (const reason of ["", "   "]) {
      const response = await postForm(agent, `/admin/users/${doctor.id}/reset-2fa`, { reason });
      assert.equal(response.status, 400);
      assert.match(response.text, /Give the reason for the reset/);
    }
    const missing = await postForm(agent, `/admin/users/${doctor.id}/reset-2fa`);
    assert.equal(missing.status, 400);
    assert.equal(await t.services.twoFactor.hasSecondFactor(doctor.id), true);
    assert.equal((await eventsOf(doctor.id, "2fa.reset")).length, 0);
  });

  test("the reset asks on a page of its own, and after a missing reason shows its result at the top", async () => {
    const { agent } = await signedInAdmin();
    const doctor = await t.createUser("doctor", { name: "Dr. Eva Visser" });
    const question = await agent.get(`/admin/users/${doctor.id}/reset-2fa`);
    assert.equal(question.status, 200);
    assert.match(question.text, /<h1>Reset two-step login for Dr\. Eva Visser\?<\/h1>/);
    assert.match(question.text, /removes the authenticator app;/);
    const empty = await submitForm(agent, `/admin/users/${doctor.id}/reset-2fa`, `/admin/users/${doctor.id}/reset-2fa`, {
      reason: "",
    });
    assert.equal(empty.status, 400);
    assert.match(empty.text, /Give the reason for the reset/);
    const done = await agent
      .post(`/admin/users/${doctor.id}/reset-2fa`)
      .type("form")
      .send({ reason: "Lost phone", _csrf: csrfFrom(empty.text) });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, `/admin/users/${doctor.id}`, "no anchor that scrolls past the result");
    const page = await agent.get(done.headers.location!);
    const notice = page.text.indexOf('role="status"');
    assert.ok(notice > 0, "the result is on the page");
    assert.match(page.text.slice(notice), /^role="status">Two-step login of Dr\. Eva Visser/);
    assert.ok(notice < page.text.indexOf("<h2>Account</h2>"), "at the top, above the user's details");
  });

  test("an admin cannot reset their own factor, and is not offered the button", async () => {
    const { admin, agent } = await signedInAdmin();
    const own = await agent.get(`/admin/users/${admin.id}`);
    assert.equal(own.status, 200);
    assert.doesNotMatch(own.text, /reset-2fa/);
    assert.doesNotMatch(own.text, /\/disable"/);
    const response = await postForm(agent, `/admin/users/${admin.id}/reset-2fa`, { reason: "testing" });
    assert.equal(response.status, 403);
    assert.match(response.text, /You cannot reset your own second factor/);
    assert.equal(await t.services.twoFactor.hasSecondFactor(admin.id), true);
    assert.equal((await agent.get("/admin")).status, 200, "still signed in");
  });

  test("after 5 minutes the admin must confirm who they are first", async () => {
    const { admin, agent } = await signedInAdmin();
    const doctor = await t.createUser("doctor");
    t.clock.advanceMinutes(6);
    const asked = await agent.get(`/admin/users/${doctor.id}/reset-2fa`);
    assert.equal(asked.headers.location, `/account/confirm?next=${encodeURIComponent(`/admin/users/${doctor.id}/reset-2fa`)}`);
    const stale = await postForm(agent, `/admin/users/${doctor.id}/reset-2fa`, { reason: "New phone" });
    assert.equal(stale.status, 303);
    assert.match(
      stale.headers.location!,
      new RegExp(`^/account/confirm\\?next=${encodeURIComponent(`/admin/users/${doctor.id}/reset-2fa`)}&action=`),
    );
    assert.equal(await t.services.twoFactor.hasSecondFactor(doctor.id), true, "nothing was reset");

    t.clock.advanceSeconds(30);
    const confirmPage = await agent.get(stale.headers.location!);
    const confirmed = await agent
      .post("/account/confirm")
      .type("form")
      .send({
        password: admin.password,
        method: "app",
        code: await generateTotpCode(admin.totpSecret!, t.clock.now()),
        next: `/admin/users/${doctor.id}/reset-2fa`,
        _csrf: csrfFrom(confirmPage.text),
      });
    assert.equal(confirmed.headers.location, `/admin/users/${doctor.id}/reset-2fa`, "back to the reset's confirmation step");
    const fresh = await postForm(agent, `/admin/users/${doctor.id}/reset-2fa`, { reason: "New phone" });
    assert.equal(fresh.status, 303);
    assert.equal(await t.services.twoFactor.hasSecondFactor(doctor.id), false);
  });

  test("the service returns what it removed and hands the old phone to the warning hook", async () => {
    const warned: string[] = [];
    const admin = createAdminService(
      { ...t.services, db: t.database.db, clock: t.clock, config: t.config },
      {
        oldPhoneWarning: {
          collectPhoneNumbers: async (_userId, tx) => {
            const { rows } = await tx.query("SELECT '+31612345678' AS phone");
            return rows.map((row) => row.phone as string);
          },
          sendResetWarning: async (phone) => {
            warned.push(phone);
          },
        },
      },
    );
    const patient = await t.createUser("patient", { withApp: true });
    const result = await admin.resetSecondFactor(null, patient.id, "Checked by phone", noRequestContext);
    assert.ok(result.ok);
    assert.deepEqual(result.reset.removedMethods, ["app"]);
    assert.deepEqual(result.reset.removedPhoneNumbers, ["+31612345678"]);
    assert.deepEqual(result.reset.phoneWarnings, { sent: 1, failed: 0 });
    assert.equal(result.reset.mustEnrolAgain, false);
    assert.deepEqual(warned, ["+31612345678"]);
    const [event] = await eventsOf(patient.id, "2fa.reset");
    assert.equal(event?.actorUserId, null);
    assert.doesNotMatch(JSON.stringify(event?.details), /31612345678/, "no phone number in the audit log");
  });
});

describe("account actions", () => {
  test("a role change takes effect: the old sessions end and a new doctor must enrol", async () => {
    const { admin, agent } = await signedInAdmin();
    const patient = await t.createUser("patient");
    const doctor = await t.createUser("doctor");
    await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
    const { agent: patientAgent } = await t.logIn(patient);
    assert.equal((await patientAgent.get("/patient")).status, 200);

    const changed = await postForm(agent, `/admin/users/${patient.id}/role`, { role: "doctor" });
    assert.equal(changed.status, 303);
    assert.equal((await userRow(patient.id)).role, "doctor");
    assert.match((await agent.get(`/admin/users/${patient.id}`)).text, /changed from patient to doctor/);
    assert.equal((await patientAgent.get("/patient")).headers.location, "/login?ended=1");
    assert.equal((await t.services.users.listPatientsOfDoctor(doctor.id)).length, 0, "the patient link no longer fits");
    const [event] = await eventsOf(patient.id, "admin.role_changed");
    assert.equal(event?.actorUserId, admin.id);
    assert.deepEqual({ from: event?.details.from, to: event?.details.to }, { from: "patient", to: "doctor" });
    assert.equal((await logIn(t.app, patient.email, patient.password)).response.headers.location, "/enrol");

    assert.equal((await postForm(agent, `/admin/users/${patient.id}/role`, { role: "nurse" })).status, 400);
    const own = await postForm(agent, `/admin/users/${admin.id}/role`, { role: "patient" });
    assert.equal(own.status, 403);
    assert.match(own.text, /cannot change your own role/);
    assert.equal((await userRow(admin.id)).role, "admin");
  });

  test("disabling ends the user's sessions and stops logins; enabling lets them back in", async () => {
    const { admin, agent } = await signedInAdmin();
    const patient = await t.createUser("patient");
    const { agent: patientAgent } = await t.logIn(patient);
    const { agent: secondDevice } = await t.logIn(patient);
    assert.equal(await sessionRows(patient.id), 2);

    assert.equal((await postForm(agent, `/admin/users/${patient.id}/disable`)).status, 303);
    assert.ok((await userRow(patient.id)).disabled_at);
    assert.equal(await sessionRows(patient.id), 0);
    assert.equal((await patientAgent.get("/patient")).headers.location, "/login?ended=1");
    assert.equal((await secondDevice.get("/patient")).headers.location, "/login?ended=1");
    assert.equal((await logIn(t.app, patient.email, patient.password)).response.status, 401);
    assert.match((await agent.get(`/admin/users/${patient.id}`)).text, /Disabled/);

    assert.equal((await postForm(agent, `/admin/users/${patient.id}/enable`)).status, 303);
    assert.equal((await userRow(patient.id)).disabled_at, null);
    assert.equal((await logIn(t.app, patient.email, patient.password)).response.headers.location, "/");
    assert.equal((await eventsOf(patient.id, "admin.user_disabled"))[0]?.actorUserId, admin.id);
    assert.equal((await eventsOf(patient.id, "admin.user_enabled"))[0]?.actorUserId, admin.id);

    const own = await postForm(agent, `/admin/users/${admin.id}/disable`);
    assert.equal(own.status, 403);
    assert.equal((await userRow(admin.id)).disabled_at, null);
  });

  test("unlock clears a login block and a second-factor lock", async () => {
    const { admin, agent } = await signedInAdmin();
    const patient = await t.createUser("patient");
    const future = new Date(t.clock.now().getTime() + 24 * 60 * 60_000);
    await t.database.db.query(
      `UPDATE users SET failed_login_count = 100, login_blocked_until = $2, second_factor_failures = 4,
         second_factor_locked_until = $2 WHERE id = $1`,
      [patient.id, future],
    );
    assert.equal((await logIn(t.app, patient.email, patient.password)).response.status, 401, "blocked");
    const page = await agent.get(`/admin/users/${patient.id}`);
    assert.match(page.text, /Locked/);
    assert.match(page.text, /Login blocked until/);

    assert.equal((await postForm(agent, `/admin/users/${patient.id}/unlock`)).status, 303);
    const row = await userRow(patient.id);
    assert.deepEqual(
      [row.failed_login_count, row.login_blocked_until, row.second_factor_failures, row.second_factor_locked_until],
      [0, null, 0, null],
    );
    assert.equal((await logIn(t.app, patient.email, patient.password)).response.headers.location, "/");
    const [event] = await eventsOf(patient.id, "admin.user_unlocked");
    assert.equal(event?.actorUserId, admin.id);
    assert.equal(event?.details.failedLoginCount, 100);
  });

  test("assigns and unassigns patients to doctors, from either side", async () => {
    const { agent } = await signedInAdmin();
    const doctor = await t.createUser("doctor");
    const patient = await t.createUser("patient");
    const other = await t.createUser("patient");
    const { agent: doctorAgent } = await t.logIn(doctor);
    assert.equal((await doctorAgent.get(`/doctor/patients/${patient.id}`)).status, 404);

    const assigned = await postForm(agent, `/admin/users/${doctor.id}/patients`, { patient: patient.email.toUpperCase() });
    assert.equal(assigned.status, 303);
    assert.match((await agent.get(`/admin/users/${doctor.id}`)).text, /is now a patient of/);
    assert.equal((await doctorAgent.get(`/doctor/patients/${patient.id}`)).status, 200);
    const fromPatient = await postForm(agent, `/admin/users/${other.id}/doctors`, { doctor: String(doctor.id) });
    assert.equal(fromPatient.status, 303);
    assert.deepEqual(
      (await t.services.users.listPatientsOfDoctor(doctor.id)).map((user) => user.id).sort(),
      [patient.id, other.id].sort(),
    );
    assert.equal((await eventsOf(patient.id, "admin.patient_assigned")).length, 1);

    const wrongRole = await postForm(agent, `/admin/users/${doctor.id}/patients`, { patient: doctor.email });
    assert.equal(wrongRole.status, 400);
    assert.match(wrongRole.text, /is not a patient/);
    const unknown = await postForm(agent, `/admin/users/${doctor.id}/patients`, { patient: "nobody@example.test" });
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /No account has that email address or number/);

    assert.equal((await postForm(agent, `/admin/users/${doctor.id}/patients/${patient.id}/unassign`)).status, 303);
    assert.equal((await postForm(agent, `/admin/users/${other.id}/doctors/${doctor.id}/unassign`)).status, 303);
    assert.equal((await t.services.users.listPatientsOfDoctor(doctor.id)).length, 0);
    assert.equal((await doctorAgent.get(`/doctor/patients/${patient.id}`)).status, 404);
    assert.equal((await eventsOf(patient.id, "admin.patient_unassigned")).length, 1);
    assert.equal((await postForm(agent, `/admin/users/${doctor.id}/patients/${patient.id}/unassign`)).status, 404);
  });
});

describe("an admin change and its audit event commit together", () => {
  /**
   * Runs fn while the database refuses to record events of this type by this actor, as a full disk
   * or a dropped connection would refuse them halfway through a change. The trigger is made by the
   * tables' owner: the app's own role may not.
   */
  async function whileAuditRefuses(actorId: number, type: string, fn: () => Promise<void>) {
    assert.match(type, /^[a-z0-9_.]+$/);
    await withOwnerDatabase(t.database, async (owner) => {
      await owner.query(
        `CREATE FUNCTION test_refuse_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'audit event refused by the test'; END $$`,
      );
      await owner.query(
        `CREATE TRIGGER test_refuse_audit_event BEFORE INSERT ON audit_events FOR EACH ROW
         WHEN (NEW.actor_user_id = ${Number(actorId)} AND NEW.event_type = '${type}')
         EXECUTE FUNCTION test_refuse_audit_event()`,
      );
    });
    try {
      await fn();
    } finally {
      await withOwnerDatabase(t.database, async (owner) => {
        await owner.query("DROP TRIGGER test_refuse_audit_event ON audit_events");
        await owner.query("DROP FUNCTION test_refuse_audit_event()");
      });
    }
  }

  interface Case {
    name: string;
    /** The event the change writes. */
    type: string;
    /** Sets the stage; returns the action and what it changes, read from the database. */
    prepare(adminId: number): Promise<{ act: () => Promise<unknown>; state: () => Promise<unknown> }>;
  }

  const liveUser = async (role: "patient" | "doctor") => {
    const user = await t.createUser(role);
    await t.logIn(user);
    return user;
  };

  const cases: Case[] = [
    {
      name: "creating an account",
      type: "admin.user_created",
      prepare: async (adminId) => {
        const email = `${uniqueMarker("atomic")}@example.test`;
        const input = { email, name: "Ada Atomic", role: "patient" as const, password: "violet kettle marathon 44" };
        return {
          act: () => t.services.admin.createUserAccount(adminId, input, noRequestContext),
          state: async () => (await t.services.users.findUserByEmail(email))?.id ?? null,
        };
      },
    },
    {
      name: "changing a role (the links, sessions and role change together)",
      type: "admin.role_changed",
      prepare: async (adminId) => {
        const patient = await liveUser("patient");
        const doctor = await t.createUser("doctor");
        await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
        return {
          act: () => t.services.admin.changeUserRole(adminId, patient.id, "doctor", noRequestContext),
          state: async () => ({
            role: (await userRow(patient.id)).role,
            sessions: await sessionRows(patient.id),
            links: (await t.services.users.listDoctorsOfPatient(patient.id)).length,
          }),
        };
      },
    },
    {
      name: "disabling an account (and ending its sessions)",
      type: "admin.user_disabled",
      prepare: async (adminId) => {
        const patient = await liveUser("patient");
        return {
          act: () => t.services.admin.disableUser(adminId, patient.id, noRequestContext),
          state: async () => ({
            disabled: (await userRow(patient.id)).disabled_at !== null,
            sessions: await sessionRows(patient.id),
          }),
        };
      },
    },
    {
      name: "enabling an account",
      type: "admin.user_enabled",
      prepare: async (adminId) => {
        const patient = await t.createUser("patient");
        await t.database.db.query("UPDATE users SET disabled_at = $2 WHERE id = $1", [patient.id, t.clock.now()]);
        return {
          act: () => t.services.admin.enableUser(adminId, patient.id, noRequestContext),
          state: async () => (await userRow(patient.id)).disabled_at !== null,
        };
      },
    },
    {
      name: "unlocking an account",
      type: "admin.user_unlocked",
      prepare: async (adminId) => {
        const patient = await t.createUser("patient");
        const future = new Date(t.clock.now().getTime() + 60 * 60_000);
        await t.database.db.query(
          "UPDATE users SET failed_login_count = 9, login_blocked_until = $2, second_factor_locked_until = $2 WHERE id = $1",
          [patient.id, future],
        );
        return {
          act: () => t.services.admin.unlockUser(adminId, patient.id, noRequestContext),
          state: async () => {
            const row = await userRow(patient.id);
            return [row.failed_login_count, row.login_blocked_until, row.second_factor_locked_until] as unknown[];
          },
        };
      },
    },
    {
      name: "assigning a patient to a doctor",
      type: "admin.patient_assigned",
      prepare: async (adminId) => {
        const doctor = await t.createUser("doctor");
        const patient = await t.createUser("patient");
        return {
          act: () => t.services.admin.assignPatientToDoctor(adminId, doctor.id, patient.id, noRequestContext),
          state: async () => (await t.services.users.findPatientOfDoctor(doctor.id, patient.id)) !== null,
        };
      },
    },
    {
      name: "unassigning a patient",
      type: "admin.patient_unassigned",
      prepare: async (adminId) => {
        const doctor = await t.createUser("doctor");
        const patient = await t.createUser("patient");
        await t.services.users.linkPatientToDoctor(doctor.id, patient.id);
        return {
          act: () => t.services.admin.unassignPatientFromDoctor(adminId, doctor.id, patient.id, noRequestContext),
          state: async () => (await t.services.users.findPatientOfDoctor(doctor.id, patient.id)) !== null,
        };
      },
    },
    {
      name: "resetting a second factor (factors, codes and sessions)",
      type: "2fa.reset",
      prepare: async (adminId) => {
        const doctor = await liveUser("doctor");
        await t.services.recoveryCodes.regenerateRecoveryCodes(doctor.id);
        return {
          act: () => t.services.admin.resetSecondFactor(adminId, doctor.id, "Lost phone", noRequestContext),
          state: async () => ({
            factor: await t.services.twoFactor.hasSecondFactor(doctor.id),
            codes: await t.services.recoveryCodes.countRemainingCodes(doctor.id),
            sessions: await sessionRows(doctor.id),
          }),
        };
      },
    },
  ];

  for (const { name, type, prepare } of cases) {
    test(`${name}: refused with its event, and made with it`, async () => {
      const admin = await t.createUser("admin");
      const { act, state } = await prepare(admin.id);
      const before = await state();
      const eventsBefore = await eventsBy(admin.id);
      await whileAuditRefuses(admin.id, type, async () => {
        await assert.rejects(act(), /audit event refused by the test/);
      });
      assert.deepEqual(await state(), before, "nothing changed without its audit event");
      assert.deepEqual(await eventsBy(admin.id), eventsBefore, "and nothing else was recorded");

      // The same call with the audit working: the refusal above came from the audit alone.
      const done = (await act()) as { ok: boolean };
      assert.equal(done.ok, true);
      assert.notDeepEqual(await state(), before, "the change is made");
      assert.ok((await eventsBy(admin.id)).includes(type), `${type} is recorded`);
    });
  }

  test("no copy of the audit log leaves without the record of who took it", async () => {
    const { admin, agent } = await signedInAdmin();
    await whileAuditRefuses(admin.id, "admin.audit_exported", async () => {
      const refused = await agent.get("/admin/audit.csv");
      assert.equal(refused.status, 500);
      assert.doesNotMatch(refused.text, /actor email/, "no CSV");
    });
    assert.equal((await eventsOf(admin.id, "admin.audit_exported")).length, 0);
    const taken = await agent.get("/admin/audit.csv");
    assert.equal(taken.status, 200);
    assert.match(taken.text, /^"time","event","actor email"/);
    assert.equal((await eventsOf(admin.id, "admin.audit_exported")).length, 1);
  });
});

describe("the audit log", () => {
  test("the page filters by user, event and dates, newest first, 50 per page", async () => {
    const { agent } = await signedInAdmin();
    const patient = await t.createUser("patient");
    const type = `test.${uniqueMarker("marker")}`;
    for (let i = 0; i < 55; i++) {
      await t.services.audit.recordEvent({ type, subjectUserId: patient.id, details: { n: i } }, noRequestContext);
      t.clock.advanceSeconds(1);
    }
    const page = await agent.get("/admin/audit").query({ type });
    assert.equal(page.status, 200);
    assertEveryInputLabelled(page.text, "/admin/audit");
    assert.match(page.text, /55 events, newest first · page 1 of 2/);
    assert.ok(page.text.indexOf("n: 54") < page.text.indexOf("n: 53"), "newest first");
    const next = page.text.match(/href="([^"]+)" rel="next"/)?.[1]?.replaceAll("&amp;", "&");
    assert.equal(next, `/admin/audit?type=${encodeURIComponent(type)}&page=2`);
    const second = await agent.get(next!);
    assert.equal([...second.text.matchAll(/<span class="admin-detail">n: /g)].length, 5);

    const byEmail = await agent.get("/admin/audit").query({ user: patient.email, type });
    assert.match(byEmail.text, /55 events/);
    const byId = await agent.get("/admin/audit").query({ user: String(patient.id) });
    assert.match(byId.text, /\d+ events/);
    assert.match((await agent.get("/admin/audit").query({ user: "nobody@example.test" })).text, /No account has that/);
    const today = amsterdamDate(t.clock.now());
    assert.match((await agent.get("/admin/audit").query({ type, from: today, to: today })).text, /55 events/);
    assert.match((await agent.get("/admin/audit").query({ type, from: dayOffset(1) })).text, /No events match/);
    assert.match((await agent.get("/admin/audit").query({ type, to: dayOffset(-1) })).text, /No events match/);
    assert.equal((await agent.get("/admin/audit").query({ from: "yesterday" })).status, 400);
    assert.equal((await agent.get("/admin/audit").query({ from: today, to: dayOffset(-1) })).status, 400);
  });

  test("the CSV export holds the filtered events with a header, quoting and formula guards", async () => {
    const { admin, agent } = await signedInAdmin();
    const doctor = await t.createUser("doctor");
    const reason = 'Lost phone, "new" one\non order; =SUM(A1)';
    const nastyAgent = '=HYPERLINK("http://evil.test","click")';
    const reset = await postForm(agent, `/admin/users/${doctor.id}/reset-2fa`, { reason }, nastyAgent);
    assert.equal(reset.status, 303);

    const response = await agent.get("/admin/audit.csv").query({ user: doctor.email, type: "2fa.reset" });
    assert.equal(response.status, 200);
    assert.match(String(response.headers["content-type"]), /^text\/csv; charset=utf-8/);
    assert.match(String(response.headers["content-disposition"]), /^attachment; filename="audit-log-\d{4}-\d{2}-\d{2}\.csv"$/);
    const rows = parseCsv(response.text);
    assert.deepEqual(rows[0], ["time", "event", "actor email", "subject email", "ip", "user agent", "details"]);
    assert.equal(rows.length, 2);
    const [time, event, actor, subject, _ip, userAgent, details] = rows[1]!;
    assert.match(time!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(event, "2fa.reset");
    assert.equal(actor, admin.email);
    assert.equal(subject, doctor.email);
    assert.equal(userAgent, `'${nastyAgent}`, "a formula is defused with a leading quote");
    assert.equal(
      JSON.parse(details!).reason,
      reason.replace("; =SUM", "; '=SUM"),
      "commas, quotes and new lines survive; a formula after a separator is defused",
    );
    assert.match(response.text, /"'=HYPERLINK\(""http:\/\/evil.test"",""click""\)"/);

    const everything = parseCsv((await agent.get("/admin/audit.csv")).text);
    assert.ok(everything.length > 10);
    assert.ok(everything.slice(1).some((row) => row[1] === "admin.role_changed" || row[1] === "2fa.reset"));
    const none = parseCsv((await agent.get("/admin/audit.csv").query({ from: dayOffset(2) })).text);
    assert.equal(none.length, 1, "only the header");
    assert.equal((await agent.get("/admin/audit.csv").query({ to: "31-12-2026" })).status, 400);
    assert.equal((await eventsOf(admin.id, "admin.audit_exported")).length >= 1, true, "taking a copy is audited");
  });

  test("a hostile User-Agent in the CSV export opens as text, whatever separator the spreadsheet splits on", async () => {
    const { admin, agent } = await signedInAdmin();
    const hostile = "Mozilla;=cmd|' /C calc'!A0";
    // Taking a copy is audited with the browser's User-Agent: the first export puts it in the log.
    const filters = { user: admin.email, type: "admin.audit_exported" };
    assert.equal((await agent.get("/admin/audit.csv").query(filters).set("User-Agent", hostile)).status, 200);
    const csv = (await agent.get("/admin/audit.csv").query(filters)).text;
    assert.match(csv, /^(?:"(?:[^"]|"")*"(?:,|\r\n))+$/, "every cell is quoted");
    assert.equal(parseCsv(csv)[1]![5], "Mozilla;'=cmd|' /C calc'!A0", "read as CSV, the value is kept, defused");
    // Dutch Excel splits on ";", others on "," or tab, and some trim spaces and quotes: no piece
    // of any line may start a formula.
    for (const separator of [",", ";", "\t"]) {
      for (const line of csv.split("\r\n")) {
        for (const piece of line.split(separator)) {
          assert.doesNotMatch(piece.replace(/^[\s"]+/, ""), /^[=+\-@]/, `split on ${JSON.stringify(separator)}: ${piece}`);
        }
      }
    }
  });

  test("CSV cells are quoted, and a formula start is defused at the start and after every separator", () => {
    assert.equal(formatCsvCell("plain"), '"plain"');
    assert.equal(formatCsvCell("a,b"), '"a,b"');
    assert.equal(formatCsvCell('say "hi"'), '"say ""hi"""');
    assert.equal(formatCsvCell("two\nlines"), '"two\nlines"');
    for (const start of ["=", "+", "-", "@"]) assert.equal(formatCsvCell(`${start}1+1`), `"'${start}1+1"`);
    assert.equal(formatCsvCell("=1,2"), `"'=1,2"`);
    for (const separator of [";", ",", "\t", "\n", "\r", "; ", ",\t "]) {
      assert.equal(formatCsvCell(`a${separator}=1+1`), `"a${separator}'=1+1"`, JSON.stringify(separator));
    }
    assert.equal(formatCsvCell("a;b=c"), '"a;b=c"', "an = inside a piece is no formula");
    assert.equal(formatCsvCell(null), '""');
  });
});

describe("portal user reset-2fa", () => {
  const run = promisify(execFile);
  async function portalCommand(args: string[], databaseUrl?: string) {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      DATA_DIR: mkdtempSync(path.join(tmpdir(), "portal-cli-")),
      BCRYPT_COST: "10",
    };
    if (databaseUrl) env.DATABASE_URL = databaseUrl;
    try {
      const { stdout, stderr } = await run(process.execPath, [path.resolve("bin/portal.js"), ...args], { env, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  test("bad arguments print the usage and exit 2", async () => {
    for (const args of [
      ["user", "reset-2fa"],
      ["user", "reset-2fa", "--email", "a@b.test"],
      ["user", "reset-2fa", "--email", "a@b.test", "--reason", "  "],
      ["user", "reset-2fa", "--bogus"],
    ]) {
      const result = await portalCommand(args);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, /user reset-2fa --email E --reason R/);
    }
  });

  const serverUrl = process.env.DATABASE_URL ? () => t.database.connectionString : undefined;

  test("an unknown email is refused with exit code 1", async () => {
    const result = await portalCommand(
      ["user", "reset-2fa", "--email", "nobody@example.test", "--reason", "lost"],
      serverUrl?.(),
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /No user has the email address nobody@example\.test/);
  });

  test("resets through the same service, with no actor", {
    skip: serverUrl ? false : "needs DATABASE_URL: the embedded test database serves one process",
  }, async () => {
    const doctor = await t.createUser("doctor");
    const result = await portalCommand(["user", "reset-2fa", "--email", doctor.email, "--reason", "No admin left"], serverUrl!());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /was reset/);
    assert.match(result.stdout, /authenticator app/);
    assert.equal(await t.services.twoFactor.hasSecondFactor(doctor.id), false);
    const [event] = await eventsOf(doctor.id, "2fa.reset");
    assert.equal(event?.actorUserId, null);
    assert.equal(event?.details.reason, "No admin left");
  });
});
