import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import request from "supertest";
import { createApp } from "../../src/app.js";
import type { Role } from "../../src/config.js";
import { type Config, loadConfig } from "../../src/config.js";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { noRequestContext } from "../../src/services/audit.js";
import type { Services } from "../../src/services/index.js";
import type { PasswordVerifier } from "../../src/services/passwords.js";
import type { User } from "../../src/services/users.js";
import { FakeClock } from "./clock.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export const testEncryptionKey = Buffer.alloc(32, 7).toString("base64");

export function createTestConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(
    {
      NODE_ENV: "test",
      BCRYPT_COST: "10",
      SESSION_SECRET: "test-session-secret-that-is-long-enough-0123456789",
      APP_ENCRYPTION_KEY: testEncryptionKey,
      PUBLIC_BASE_URL: "http://portal.test",
      PHONE_GATEWAY: "outbox",
      LOG_LEVEL: "silent",
      DATA_DIR: mkdtempSync(path.join(tmpdir(), "portal-test-")),
      // Room for the parallel bursts that test the limits; the admission test sets its own.
      PASSWORD_CHECK_CONCURRENCY: "4",
      PASSWORD_CHECK_QUEUE: "100",
      PASSWORD_CHECK_WAIT_MS: "60000",
      // Parallel bursts from one address test the limits in the database, as if they reached
      // several app instances; the per-client place in line is tested on its own.
      PASSWORD_CHECK_PER_CLIENT: "1000",
      ...overrides,
    },
    () => undefined,
  );
}

export type TestUser = User & { password: string; totpSecret?: string };

export interface TestApp {
  app: ReturnType<typeof createApp>["app"];
  services: Services;
  clock: FakeClock;
  config: Config;
  database: TestDatabase;
  /** Creates a user; doctors and admins get an authenticator app unless `withApp` is false. */
  createUser(
    role: Role,
    fields?: Partial<{ email: string; name: string; password: string; withApp: boolean }>,
  ): Promise<TestUser>;
  /** Enrols an authenticator app for the user directly through the services; returns its secret. */
  enrolApp(user: { id: number; email: string }): Promise<string>;
  /** Logs in through the real forms, answering the app step when the user has one. */
  logIn(user: TestUser): Promise<{ agent: request.Agent; response: request.Response }>;
  close(): Promise<void>;
}

let userCounter = 0;

export async function startTestApp(
  options: { env?: Record<string, string>; database?: TestDatabase; verifyPassword?: PasswordVerifier } = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const config = createTestConfig(options.env);
  const clock = new FakeClock();
  const { app, services } = createApp({
    config,
    db: database.db,
    clock,
    logger: pino({ level: "silent" }),
    verifyPassword: options.verifyPassword,
  });

  async function enrolApp(user: { id: number; email: string }): Promise<string> {
    const { enrolment } = await services.totp.startAppEnrolment(user, true);
    const secret = enrolment.secretForDisplay.replace(/\s+/g, "");
    const outcome = await services.totp.confirmAppEnrolment(user.id, await generateTotpCode(secret, clock.now()));
    if (outcome.status !== "enrolled") throw new Error(`could not enrol the app: ${outcome.status}`);
    return secret;
  }

  async function logInUser(user: TestUser) {
    const { agent, response } = await logIn(app, user.email, user.password);
    if (response.headers.location !== "/login/2fa" || !user.totpSecret) return { agent, response };
    // Each login needs a code from a later time step than the last one used.
    clock.advanceSeconds(30);
    const page = await agent.get("/login/2fa/app");
    const code = await generateTotpCode(user.totpSecret, clock.now());
    const done = await agent
      .post("/login/2fa/app")
      .type("form")
      .send({ code, _csrf: csrfFrom(page.text) });
    return { agent, response: done };
  }

  async function createUser(
    role: Role,
    fields: Partial<{ email: string; name: string; password: string; withApp: boolean }> = {},
  ) {
    userCounter += 1;
    const password = fields.password ?? `correct horse battery ${userCounter} staple`;
    const result = await services.users.createUser(
      {
        email: fields.email ?? `${role}${userCounter}.${Date.now()}@example.test`,
        name: fields.name ?? `Test ${role} ${userCounter}`,
        role,
        password,
      },
      noRequestContext,
    );
    if (!result.ok) throw new Error(`could not create the test user: ${result.reason}`);
    const withApp = fields.withApp ?? role !== "patient";
    const totpSecret = withApp ? await enrolApp(result.user) : undefined;
    return { ...result.user, password, totpSecret };
  }

  return {
    app,
    services,
    clock,
    config,
    database,
    createUser,
    enrolApp,
    logIn: logInUser,
    close: async () => {
      if (!options.database) await database.close();
    },
  };
}

/** Reads the CSRF token from the form on a page. */
export function csrfFrom(html: string): string {
  const match = html.match(/name="_csrf" value="([^"]+)"/);
  if (!match?.[1]) throw new Error("no CSRF token on the page");
  return match[1];
}

export function sessionCookieOf(response: request.Response): string | undefined {
  const cookies = ([] as string[]).concat(response.headers["set-cookie"] ?? []);
  return cookies.find((cookie) => cookie.startsWith("portal.sid="))?.split(";")[0];
}

/** Logs in through the real form; returns the agent (which keeps the cookie) and the last response. */
export async function logIn(app: TestApp["app"], email: string, password: string) {
  const agent = request.agent(app);
  const page = await agent.get("/login");
  const response = await agent
    .post("/login")
    .type("form")
    .send({ email, password, _csrf: csrfFrom(page.text) });
  return { agent, response };
}

/** Posts each code to the form at `action` all at once, as a guessing burst does; the responses in order. */
export function postCodesAtOnce(agent: request.Agent, action: string, csrf: string, codes: string[]) {
  return Promise.all(codes.map((code) => agent.post(action).type("form").send({ code, _csrf: csrf })));
}

/**
 * Sends 60 wrong codes at once to the form at `action` (with the CSRF token of its page), then
 * the right one: asserts that exactly 10 were checked, that the rest met the lock, and that the
 * lock holds even for the right code.
 */
export async function assertBurstChecksTen(
  t: TestApp,
  { agent, userId, action, csrf, right }: { agent: request.Agent; userId: number; action: string; csrf: string; right: string },
) {
  const guesses = Array.from({ length: 60 }, (_, i) => String(300000 + i)).filter((code) => code !== right);
  const responses = await postCodesAtOnce(agent, action, csrf, guesses);
  const { rows } = await t.database.db.query(
    "SELECT count(*)::int AS n FROM audit_events WHERE subject_user_id = $1 AND event_type = '2fa.code_refused'",
    [userId],
  );
  assert.equal(Number(rows[0]!.n), 10, "ten codes were checked");
  assert.equal(responses.filter((response) => response.status === 429).length, guesses.length - 9, "the rest met the lock");
  assert.ok(await t.services.twoFactor.findLockedUntil(userId), "two-step login is locked");
  const [locked] = await postCodesAtOnce(agent, action, csrf, [right]);
  assert.equal(locked!.status, 429, "even the right code waits for the lock");
}

/** GETs a page and posts its first form (or the one at formPath) with the given fields. */
export async function submitForm(agent: request.Agent, pagePath: string, action: string, fields: Record<string, string>) {
  const page = await agent.get(pagePath);
  return agent
    .post(action)
    .type("form")
    .send({ ...fields, _csrf: csrfFrom(page.text) });
}

/**
 * The page a set of new recovery codes is shown on: the POST that made them redirects there
 * (post/redirect/get). Asserts the redirect and returns the page.
 */
export async function newRecoveryCodesPage(agent: request.Agent, response: request.Response): Promise<request.Response> {
  if (response.status !== 303 || response.headers.location !== "/account/recovery-codes/new") {
    throw new Error(`expected a redirect to the new recovery codes, got ${response.status} ${response.headers.location}`);
  }
  return agent.get("/account/recovery-codes/new");
}

/** A patient whose phone number is verified directly through the database, with recovery codes. */
export async function createPatientWithPhone(t: TestApp, phone: string): Promise<TestUser> {
  const user = await t.createUser("patient");
  await t.database.db.query("INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, now())", [
    user.id,
    phone,
  ]);
  await t.services.recoveryCodes.regenerateRecoveryCodes(user.id);
  return user;
}
