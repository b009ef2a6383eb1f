import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "node-html-parser";
import request from "supertest";
import { logIn, startTestApp, submitForm, type TestApp } from "../support/app.js";

// Every form answers a mistake the same way (the GOV.UK error pattern): "Error: " in the title, a
// summary at the top whose link leads to the field, and the field marked invalid and described by
// its own message.

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

function assertFieldError(response: request.Response, field: string, message: RegExp) {
  const html = parse(response.text);
  assert.match(html.querySelector("title")?.text ?? "", /^Error: /, "the title starts with Error:");
  const summary = html.querySelector("[data-error-summary]");
  assert.ok(summary, "an error summary");
  assert.equal(summary.closest("main") !== null, true, "the summary is in the main content");
  const link = summary.querySelectorAll("a").find((a) => a.getAttribute("href") === `#${field}`);
  assert.ok(link, `the summary links to #${field}: ${summary.toString()}`);
  assert.match(link.text, message);
  const input = html.querySelector(`#${field}`);
  assert.ok(input, `a field with id ${field}`);
  assert.equal(input.getAttribute("aria-invalid"), "true", `${field} is marked invalid`);
  const describedBy = (input.getAttribute("aria-describedby") ?? "").split(" ");
  assert.ok(describedBy.includes(`${field}-error`), `${field} is described by its error: ${describedBy.join(" ")}`);
  const fieldMessage = html.querySelector(`#${field}-error`);
  assert.ok(fieldMessage, `a message with id ${field}-error`);
  assert.match(fieldMessage.text, message);
  // One alert per page: the summary.
  assert.equal(html.querySelectorAll("[role=alert]").length, 1);
  // Focus goes to the summary, not to a field that grabs it first.
  assert.equal(html.querySelectorAll("[autofocus]").length, 0, "no autofocus fights the summary");
}

async function post(agent: request.Agent, pagePath: string, action: string, fields: Record<string, string>) {
  return submitForm(agent, pagePath, action, fields);
}

describe("the password step", () => {
  test("an empty email and a wrong password", async () => {
    const agent = request.agent(t.app);
    assertFieldError(await post(agent, "/login", "/login", { email: "", password: "x" }), "email", /Enter your email address/);
    const user = await t.createUser("patient");
    const wrong = await post(agent, "/login", "/login", { email: user.email, password: "not the password at all" });
    assert.equal(wrong.status, 401);
    assertFieldError(wrong, "password", /email address or password is not right/);
    assert.equal(parse(wrong.text).querySelector("#email")?.getAttribute("aria-invalid"), "true", "the email too");
  });
});

describe("the second step", () => {
  test("the app, recovery and SMS code fields", async () => {
    const user = await t.createUser("patient", { withApp: true });
    await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())", [
      user.id,
      "+31698765432",
    ]);
    await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
    const { agent } = await logIn(t.app, user.email, user.password);
    assertFieldError(await post(agent, "/login/2fa/app", "/login/2fa/app", { code: "" }), "code", /Enter the/);
    assertFieldError(await post(agent, "/login/2fa/app", "/login/2fa/app", { code: "123456" }), "code", /not right/);
    assertFieldError(await post(agent, "/login/2fa/recovery", "/login/2fa/recovery", { code: "" }), "code", /Enter the/);
    await post(agent, "/login/2fa", "/login/2fa/sms/send", {});
    assertFieldError(await post(agent, "/login/2fa/sms", "/login/2fa/sms", { code: "" }), "code", /Enter the/);
  });
});

describe("the account pages", () => {
  test("confirming, the password, the phone and the app", async () => {
    const user = await t.createUser("patient", { withApp: true });
    const { agent } = await t.logIn(user);
    assertFieldError(
      await post(agent, "/account/confirm", "/account/confirm", { password: "", method: "app", code: "" }),
      "password",
      /Enter your password/,
    );
    assertFieldError(
      await post(agent, "/account/confirm", "/account/confirm", { password: user.password, method: "app", code: "" }),
      "code",
      /Enter the code/,
    );
    assertFieldError(
      await post(agent, "/account/password", "/account/password", { current: "", password: "x", repeat: "x" }),
      "current",
      /Enter your current password/,
    );
    assertFieldError(
      await post(agent, "/account/password", "/account/password", {
        current: user.password,
        password: "a brand new passphrase 77",
        repeat: "something else entirely",
      }),
      "repeat",
      /not the same/,
    );
    assertFieldError(
      await post(agent, "/account/password", "/account/password", { current: user.password, password: "short", repeat: "short" }),
      "password",
      /at least 12/i,
    );
    assertFieldError(await post(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06-12" }), "phone", /not a valid/);
    await post(agent, "/account/2fa/phone", "/account/2fa/phone", { phone: "06 11223344" });
    assertFieldError(
      await post(agent, "/account/2fa/phone/verify", "/account/2fa/phone/verify", { code: "" }),
      "code",
      /Enter the 6-digit code/,
    );
    assertFieldError(await post(agent, "/account/2fa/app", "/account/2fa/app", { code: "" }), "code", /Enter the 6-digit code/);
  });
});

describe("the admin pages", () => {
  test("new user, role, links, reset and the filters", async () => {
    const admin = await t.createUser("admin");
    const { agent } = await t.logIn(admin);
    const base = { name: "Nina", email: "nina@example.test", role: "patient", password: "", passwordRepeat: "" };
    assertFieldError(await post(agent, "/admin/users/new", "/admin/users/new", { ...base, name: "" }), "name", /Enter the/);
    assertFieldError(
      await post(agent, "/admin/users/new", "/admin/users/new", { ...base, password: "a first passphrase 99" }),
      "passwordRepeat",
      /differ/,
    );
    assertFieldError(
      await post(agent, "/admin/users/new", "/admin/users/new", {
        ...base,
        email: admin.email,
        password: "a first passphrase 99",
        passwordRepeat: "a first passphrase 99",
      }),
      "email",
      /already exists/,
    );
    const doctor = await t.createUser("doctor");
    const patient = await t.createUser("patient");
    const doctorPage = `/admin/users/${doctor.id}`;
    assertFieldError(
      await post(agent, doctorPage, `${doctorPage}/patients`, { patient: "nobody@example.test" }),
      "patient",
      /No account/,
    );
    assertFieldError(await post(agent, doctorPage, `${doctorPage}/role`, { role: "king" }), "role", /Choose a role/);
    const patientPage = `/admin/users/${patient.id}`;
    assertFieldError(await post(agent, patientPage, `${patientPage}/doctors`, { doctor: "" }), "doctor", /Enter the doctor/);
    assertFieldError(
      await post(agent, `${doctorPage}/reset-2fa`, `${doctorPage}/reset-2fa`, { reason: "" }),
      "reason",
      /Give the reason/,
    );
    assertFieldError(await agent.get("/admin/users?role=king"), "role", /Unknown role/);
    assertFieldError(await agent.get("/admin/audit?from=yesterday"), "from", /Enter dates like/);
  });
});
