import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import request from "supertest";
import { createApp } from "../../src/app.js";
import type { Role } from "../../src/config.js";
import { type Config, loadConfig } from "../../src/config.js";
import { noRequestContext } from "../../src/services/audit.js";
import type { Services } from "../../src/services/index.js";
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
      ...overrides,
    },
    () => undefined,
  );
}

export interface TestApp {
  app: ReturnType<typeof createApp>["app"];
  services: Services;
  clock: FakeClock;
  config: Config;
  database: TestDatabase;
  createUser(
    role: Role,
    fields?: Partial<{ email: string; name: string; password: string }>,
  ): Promise<User & { password: string }>;
  close(): Promise<void>;
}

let userCounter = 0;

export async function startTestApp(options: { env?: Record<string, string>; database?: TestDatabase } = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const config = createTestConfig(options.env);
  const clock = new FakeClock();
  const { app, services } = createApp({ config, db: database.db, clock, logger: pino({ level: "silent" }) });

  async function createUser(role: Role, fields: Partial<{ email: string; name: string; password: string }> = {}) {
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
    if (!result.ok) throw new Error(result.error);
    return { ...result.user, password };
  }

  return {
    app,
    services,
    clock,
    config,
    database,
    createUser,
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

/** GETs a page and posts its first form (or the one at formPath) with the given fields. */
export async function submitForm(agent: request.Agent, pagePath: string, action: string, fields: Record<string, string>) {
  const page = await agent.get(pagePath);
  return agent
    .post(action)
    .type("form")
    .send({ ...fields, _csrf: csrfFrom(page.text) });
}
