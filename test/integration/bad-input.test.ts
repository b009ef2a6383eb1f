import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import express from "express";
import { pino } from "pino";
import request from "supertest";
import { createErrorHandler } from "../../src/web/middleware/errors.js";
import { csrfFrom, logIn, startTestApp, submitForm, type TestApp, type TestUser } from "../support/app.js";

// Values no form should accept, in every field and query of the login, account and admin pages:
// a NUL byte (PostgreSQL cannot store one in text) and the year 0000 (no such date in
// PostgreSQL). Each gets a 400 page, never a 500; a refused NUL names its field.

let t: TestApp;
let admin: request.Agent;
let patientAgent: request.Agent;
let patient: TestUser;
let doctor: TestUser;
let appUser: TestUser;
let resetUser: TestUser;

before(async () => {
  t = await startTestApp();
  const adminUser = await t.createUser("admin");
  ({ agent: admin } = await t.logIn(adminUser));
  patient = await t.createUser("patient");
  ({ agent: patientAgent } = await logIn(t.app, patient.email, patient.password));
  // A phone waiting for its code, so that the code form can be sent.
  const sent = await submitForm(patientAgent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 12345678" });
  assert.equal(sent.headers.location, "/account/2fa/phone/verify");
  doctor = await t.createUser("doctor");
  appUser = await t.createUser("patient", { withApp: true });
  resetUser = await t.createUser("patient", { withApp: true });
});
after(() => t.close());

type Who = "anonymous" | "patient" | "admin" | "second step";

interface Case {
  title: string;
  who: Who;
  /** GET with the value in the query, or POST the form that `page` shows. */
  method: "GET" | "POST";
  path: () => string;
  /** The page whose CSRF token the POST carries (the same session's). */
  page?: () => string;
  /** Valid values for the other fields, so that the one under test is the only problem. */
  fields: () => Record<string, string>;
  /** Each field under test, with the words the page uses for it. */
  targets: Record<string, RegExp>;
  /** Fields that are dates: the year 0000 is refused there too. */
  dates?: string[];
}

let emailCounter = 0;
const freshEmail = () => `bad-input-${++emailCounter}-${Date.now()}@example.test`;

const cases: Case[] = [
  {
    who: "anonymous",
    title: "POST /login",
    method: "POST",
    path: () => "/login",
    page: () => "/login",
    fields: () => ({ email: patient.email, password: patient.password }),
    targets: { email: /Email address/, password: /Password/ },
  },
  {
    who: "second step",
    title: "POST /login/2fa/app",
    method: "POST",
    path: () => "/login/2fa/app",
    page: () => "/login/2fa/app",
    fields: () => ({ code: "123456" }),
    targets: { code: /Code/ },
  },
  {
    who: "patient",
    title: "POST /account/confirm",
    method: "POST",
    path: () => "/account/confirm",
    page: () => "/account/confirm",
    fields: () => ({ password: patient.password, code: "123456", method: "app", next: "/account/security" }),
    targets: { password: /Password/, code: /Code/, method: /Where the code comes from/, next: /Return address/ },
  },
  {
    who: "patient",
    title: "POST /account/password",
    method: "POST",
    path: () => "/account/password",
    page: () => "/account/password",
    fields: () => ({ current: patient.password, password: "a brand new passphrase 77", repeat: "a brand new passphrase 77" }),
    targets: { current: /Current password/, password: /New password/, repeat: /New password again/ },
  },
  {
    who: "patient",
    title: "POST /account/2fa/phone",
    method: "POST",
    path: () => "/account/2fa/phone",
    page: () => "/account/2fa/phone",
    fields: () => ({ phone: "06 12345678" }),
    targets: { phone: /Mobile phone number/ },
  },
  {
    who: "patient",
    title: "POST /account/2fa/phone/verify",
    method: "POST",
    path: () => "/account/2fa/phone/verify",
    page: () => "/account/2fa/phone/verify",
    fields: () => ({ code: "123456" }),
    targets: { code: /Code/ },
  },
  {
    who: "patient",
    title: "POST /account/2fa/app",
    method: "POST",
    path: () => "/account/2fa/app",
    page: () => "/account/2fa/app",
    fields: () => ({ code: "123456" }),
    targets: { code: /Code/ },
  },
  {
    who: "admin",
    title: "GET /admin/users",
    method: "GET",
    path: () => "/admin/users",
    fields: () => ({ q: "test", role: "patient", twofactor: "on", locked: "no", disabled: "no", page: "1" }),
    targets: {
      q: /Name or email contains/,
      role: /role/i,
      twofactor: /Two-step login/,
      locked: /Locked/,
      disabled: /Disabled/,
      page: /page/i,
    },
  },
  {
    who: "admin",
    title: "POST /admin/users/new",
    method: "POST",
    path: () => "/admin/users/new",
    page: () => "/admin/users/new",
    fields: () => ({
      name: "Bad Input",
      email: freshEmail(),
      role: "patient",
      password: "a first passphrase 2031",
      passwordRepeat: "a first passphrase 2031",
    }),
    targets: {
      name: /Name/,
      email: /Email address/,
      role: /role/i,
      password: /First password/,
      passwordRepeat: /Repeat the first password/,
    },
  },
  {
    who: "admin",
    title: "POST /admin/users/:patient/role",
    method: "POST",
    path: () => `/admin/users/${patient.id}/role`,
    page: () => `/admin/users/${patient.id}`,
    fields: () => ({ role: "patient" }),
    targets: { role: /role/i },
  },
  {
    who: "admin",
    title: "POST /admin/users/:user/reset-2fa",
    method: "POST",
    path: () => `/admin/users/${resetUser.id}/reset-2fa`,
    page: () => `/admin/users/${resetUser.id}`,
    fields: () => ({ reason: "Lost phone, identity checked at the desk" }),
    targets: { reason: /Reason/ },
  },
  {
    who: "admin",
    title: "POST /admin/users/:doctor/patients",
    method: "POST",
    path: () => `/admin/users/${doctor.id}/patients`,
    page: () => `/admin/users/${doctor.id}`,
    fields: () => ({ patient: patient.email }),
    targets: { patient: /Assign a patient/ },
  },
  {
    who: "admin",
    title: "POST /admin/users/:patient/doctors",
    method: "POST",
    path: () => `/admin/users/${patient.id}/doctors`,
    page: () => `/admin/users/${patient.id}`,
    fields: () => ({ doctor: doctor.email }),
    targets: { doctor: /Assign a doctor/ },
  },
  ...["/admin/audit", "/admin/audit.csv"].map(
    (path): Case => ({
      title: `GET ${path}`,
      who: "admin",
      method: "GET",
      path: () => path,
      fields: () => ({ user: patient.email, type: "login.succeeded", from: "2026-01-01", to: "2026-12-31", page: "1" }),
      targets: { user: /User/, type: /Event/, from: /date/i, to: /date/i, page: /page/i },
      dates: ["from", "to"],
    }),
  ),
];

/** An agent at the second step of a login: the password passed, the app's code is next. */
async function agentAtSecondStep(): Promise<request.Agent> {
  const { agent, response } = await logIn(t.app, appUser.email, appUser.password);
  assert.equal(response.headers.location, "/login/2fa");
  return agent;
}

async function agentFor(who: Who): Promise<request.Agent> {
  if (who === "admin") return admin;
  if (who === "patient") return patientAgent;
  if (who === "second step") return agentAtSecondStep();
  return request.agent(t.app);
}

async function send(testCase: Case, fields: Record<string, string>) {
  const agent = await agentFor(testCase.who);
  if (testCase.method === "GET") return agent.get(testCase.path()).query(fields);
  const page = await agent.get(testCase.page!());
  assert.equal(page.status, 200, `${testCase.page!()} shows its form`);
  return agent
    .post(testCase.path())
    .type("form")
    .send({ ...fields, _csrf: csrfFrom(page.text) });
}

/** The problem the page reports: the form's alert, or the text of an error page. */
function problemOf(html: string): string {
  const found = html.match(/role="alert"[^>]*>([\s\S]*?)<\/p>/) ?? html.match(/<\/h1>\s*<p>([\s\S]*?)<\/p>/);
  return (found?.[1] ?? "").replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'");
}

describe("a NUL byte in any field or query gets a 400 page naming the field", () => {
  for (const testCase of cases) {
    for (const [name, label] of Object.entries(testCase.targets)) {
      test(`${testCase.title} ${name}`, async () => {
        const valid = testCase.fields();
        const response = await send(testCase, { ...valid, [name]: `${valid[name] ?? ""}\u0000` });
        assert.equal(response.status, 400, `${name}: ${response.status} ${problemOf(response.text)}`);
        assert.match(problemOf(response.text), label, `the problem names the field ${name}`);
      });
    }
  }
});

describe("the year 0000 in any field or query is never a 500; in a date it gets a 400", () => {
  for (const testCase of cases) {
    for (const name of Object.keys(testCase.targets)) {
      test(`${testCase.title} ${name}`, async () => {
        const fields = testCase.fields();
        // Only the date under test is set, so that no other rule (start after end) refuses it.
        for (const date of testCase.dates ?? []) fields[date] = "";
        const response = await send(testCase, { ...fields, [name]: "0000-01-01" });
        if (testCase.dates?.includes(name)) {
          assert.equal(response.status, 400, `${name}: ${response.status} ${problemOf(response.text)}`);
          assert.match(problemOf(response.text), /dates between/);
        } else {
          assert.ok(response.status < 500, `${name}: ${response.status} ${problemOf(response.text)}`);
        }
      });
    }
  }
});

test("a NUL byte in a link back from the confirmation page is not carried into the form", async () => {
  const page = await patientAgent.get("/account/confirm").query({ next: "/account/password\u0000" });
  assert.equal(page.status, 200);
  assert.ok(!page.text.includes("\u0000"), "no NUL on the page");
  assert.match(page.text, /name="next" value="\/account\/security"/, "the usual way back instead");
});

describe("a data error from PostgreSQL that reaches the error handler", () => {
  // The forms refuse such values first; this is the net under any value that slips past them.
  const faults: [string, string, string][] = [
    ["a NUL byte in text (22021)", "SELECT $1::text", "a\u0000b"],
    ["a date out of range (22008)", "SELECT $1::date", "0000-01-01"],
    ["text that is not a number (22P02)", "SELECT $1::int", "seven"],
  ];
  for (const [what, sql, value] of faults) {
    test(`${what} is a 400 page, not a 500`, async () => {
      const app = express();
      app.get("/probe", async (_req, _res) => {
        await t.database.db.query(sql, [value]);
      });
      app.use(createErrorHandler({ config: t.config, logger: pino({ level: "silent" }), clock: t.clock }));
      const response = await request(app).get("/probe").set("Accept", "text/html");
      assert.equal(response.status, 400);
      assert.match(response.text, /could not be used/);
    });
  }
});

describe("what people do type still works", () => {
  test("an email pasted with a line break after it logs in", async () => {
    const user = await t.createUser("patient");
    const { response } = await logIn(t.app, `${user.email}\r\n`, user.password);
    assert.equal(response.status, 303);
    assert.equal(response.headers.location, "/");
  });

  test("a reset reason written over two lines is kept as written", async () => {
    const target = await t.createUser("patient", { withApp: true });
    const reason = "Lost phone.\r\nIdentity checked at the desk with a passport.";
    const page = await admin.get(`/admin/users/${target.id}`);
    const reset = await admin
      .post(`/admin/users/${target.id}/reset-2fa`)
      .type("form")
      .send({ reason, _csrf: csrfFrom(page.text) });
    assert.equal(reset.status, 303, problemOf(reset.text));
    const events = await t.services.audit.listEventsForUser(target.id, 20);
    const recorded = events.find((event) => event.type === "2fa.reset");
    assert.match(JSON.stringify(recorded?.details), /Lost phone\.\\r\\nIdentity checked/);
  });
});
