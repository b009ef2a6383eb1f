// The bench's own database and accounts. Accounts are made through the portal's services (as
// `portal user create` and `portal demo` do), so they stay valid whatever the tables look like.
import { type Config, loadConfig } from "../src/config.js";
import { connectDatabase } from "../src/db/connect.js";
import { noRequestContext } from "../src/services/audit.js";
import { systemClock } from "../src/services/clock.js";
import { demoAccounts, ensureDemoAccounts } from "../src/services/demo.js";
import { createServices } from "../src/services/index.js";
import { createTestDatabase } from "../test/support/database.js";
import { type Account, type AppAccount, appCodeAt, currentAppStep } from "./visitor.js";

export interface BenchDatabase {
  /** DATABASE_URL for the portal (a role that owns nothing); undefined means the embedded database under DATA_DIR. */
  url: string | undefined;
  /**
   * For the baseline, which is no part of the portal and creates its own session table: the tables'
   * owner (the same as `url` where there is one role).
   */
  baselineUrl: string | undefined;
  /** How many rows a table holds now; null with the embedded database or where it cannot be read. */
  countRows(table: string): Promise<number | null>;
  drop(): Promise<void>;
}

/**
 * With DATABASE_URL: a fresh, migrated database on that server (as each test file gets), dropped
 * afterwards. Without: nothing, as the portal starts the embedded one itself.
 */
export async function createBenchDatabase(serverUrl: string | undefined): Promise<BenchDatabase> {
  if (!serverUrl) return { url: undefined, baselineUrl: undefined, countRows: async () => null, drop: async () => undefined };
  const database = await createTestDatabase();
  return {
    url: database.connectionString,
    baselineUrl: database.ownerConnectionString,
    countRows: async (table) => {
      try {
        const { rows } = await database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        return rows[0]?.n ?? null;
      } catch {
        return null;
      }
    },
    drop: () => database.close(),
  };
}

/** The environment every portal process of the bench gets (besides PORT). */
export function portalEnvironment(options: { databaseUrl: string | undefined; dataDir: string }): Record<string, string> {
  return {
    NODE_ENV: "development",
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    DATA_DIR: options.dataDir,
    SESSION_SECRET: "bench-session-secret-0123456789-0123456789",
    APP_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString("base64"),
    PHONE_GATEWAY: "outbox",
    BCRYPT_COST: "12",
    // Each bench visitor comes from its own made-up address (X-Forwarded-For), on loopback only.
    TRUST_PROXY: "loopback",
    LOG_LEVEL: "info",
  };
}

export interface BenchAccounts {
  /** The demo patient (one doctor, no second factor): the signed-in pages are hers. */
  pagePatient: Account;
  passwordUsers: Account[];
  appUsers: AppAccount[];
  timingUser: Account;
}

async function inBatches<T>(count: number, size: number, make: (index: number) => Promise<T>): Promise<T[]> {
  const made: T[] = [];
  for (let start = 0; start < count; start += size) {
    const batch = Array.from({ length: Math.min(size, count - start) }, (_, offset) => make(start + offset));
    made.push(...(await Promise.all(batch)));
  }
  return made;
}

/**
 * Applies the migrations and creates the accounts: the demo accounts, patients who log in with a
 * password, patients with an authenticator app (each app code works once, so the app logins need
 * many), and one for the timing comparison.
 */
export async function createBenchAccounts(
  env: Record<string, string>,
  counts: { passwordUsers: number; appUsers: number },
): Promise<BenchAccounts> {
  const config: Config = loadConfig({ ...env, LOG_LEVEL: "silent" }, () => undefined);
  const connection = await connectDatabase(config);
  try {
    const services = createServices({ config, db: connection.db, clock: systemClock });
    await ensureDemoAccounts(services);
    const demoPatient = demoAccounts.find((account) => account.email === "patient@demo.test") ?? demoAccounts[0]!;

    async function createPatient(email: string, password: string) {
      const result = await services.users.createUser(
        { email, name: `Bench ${email.split("@")[0]}`, role: "patient", password },
        noRequestContext,
      );
      if (!result.ok) throw new Error(`could not create ${email}: ${result.reason}`);
      return result.user;
    }

    const passwordUsers = await inBatches(counts.passwordUsers, 8, async (index) => {
      const account = { email: `login${index}@bench.test`, password: `bench login passphrase ${index} tulip` };
      await createPatient(account.email, account.password);
      return account;
    });
    const appUsers = await inBatches(counts.appUsers, 8, async (index) => {
      const account = { email: `app${index}@bench.test`, password: `bench app passphrase ${index} canal` };
      const user = await createPatient(account.email, account.password);
      const { enrolment } = await services.totp.startAppEnrolment(user, true);
      const secret = enrolment.secretForDisplay.replace(/\s+/g, "");
      // Enrolled with the previous step's code: the current and the next step are left for logins.
      const step = currentAppStep() - 1;
      const outcome = await services.totp.confirmAppEnrolment(user.id, await appCodeAt(secret, step));
      if (outcome.status !== "enrolled") throw new Error(`could not enrol an app for ${account.email}: ${outcome.status}`);
      return { ...account, secret, lastStep: step };
    });
    const timingUser = { email: "timing@bench.test", password: "harbour clock passphrase dune" };
    await createPatient(timingUser.email, timingUser.password);
    return {
      pagePatient: { email: demoPatient.email, password: demoPatient.password },
      passwordUsers,
      appUsers,
      timingUser,
    };
  } finally {
    await connection.close();
  }
}
