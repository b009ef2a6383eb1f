import path from "node:path";
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig, readCliPassword } from "./config.js";
import { connectDatabase } from "./db/connect.js";
import { startEmbeddedPostgres } from "./db/embedded.js";
import { migrateAsOwner, runMigrations } from "./db/migrate.js";
import { noRequestContext } from "./services/audit.js";
import { systemClock } from "./services/clock.js";
import { describeDemoAccounts, ensureDemoAccounts } from "./services/demo.js";
import { createServices } from "./services/index.js";
import { describeAdminRefusal, describeCreateUserRefusal, describeSecondFactorReset } from "./web/admin-words.js";

const usage = `Usage: portal <command>

Commands:
  migrate                                   apply pending database migrations
  user create --email E --name N --role R   create a user (R: patient, doctor or admin);
                                            the password comes from PORTAL_PASSWORD or a prompt
  user reset-2fa --email E --reason R       remove all second factors and recovery codes of a user
                                            and end their sessions (for when no admin can log in)
  demo                                      create the demo accounts and print them

The database is DATABASE_URL, or the embedded one under DATA_DIR (default ./data) when it is unset.
migrate runs as DATABASE_MIGRATION_URL (the tables' owner) when it is set, and then grants the
role of DATABASE_URL what the app needs.`;

class UsageError extends Error {}

async function readHiddenLine(prompt: string): Promise<string> {
  const { stdin, stdout } = process;
  if (!stdin.isTTY) throw new UsageError("No terminal to ask for a password: set PORTAL_PASSWORD.");
  stdout.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n") {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off("data", onData);
          stdout.write("\n");
          return resolve(value);
        }
        if (char === "\u0003") {
          stdin.setRawMode(false);
          return reject(new UsageError("Cancelled."));
        }
        if (char === "\u007f") value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on("data", onData);
  });
}

async function readPassword(): Promise<string> {
  const fromEnv = readCliPassword();
  if (fromEnv) return fromEnv;
  const first = await readHiddenLine("Password: ");
  const second = await readHiddenLine("Repeat the password: ");
  if (first !== second) throw new UsageError("The two passwords differ.");
  return first;
}

async function withServices<T>(config: Config, fn: (services: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const connection = await connectDatabase(config);
  try {
    return await fn(createServices({ config, db: connection.db, clock: systemClock }));
  } finally {
    await connection.close();
  }
}

async function migrate(config: Config) {
  const ownerUrl = config.databaseMigrationUrl ?? config.databaseUrl;
  if (ownerUrl) {
    const { applied, runtimeRole } = await migrateAsOwner(ownerUrl, config.databaseUrl);
    console.log(applied.length ? `Applied: ${applied.join(", ")}` : "No pending migrations.");
    if (runtimeRole) console.log(`The app's role ${runtimeRole} may read and write what it needs, and change no table.`);
    return;
  }
  const embedded = await startEmbeddedPostgres(path.join(config.dataDir, "pglite"));
  try {
    const applied = await runMigrations(embedded.connectionString);
    console.log(applied.length ? `Applied: ${applied.join(", ")}` : "No pending migrations.");
  } finally {
    await embedded.stop();
  }
}

async function createUserCommand(config: Config, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { email: { type: "string" }, name: { type: "string" }, role: { type: "string" } },
    strict: true,
  });
  if (!values.email || !values.name || !values.role) throw new UsageError("user create needs --email, --name and --role.");
  const role = values.role;
  if (role !== "patient" && role !== "doctor" && role !== "admin")
    throw new UsageError("--role must be patient, doctor or admin.");
  const password = await readPassword();
  await withServices(config, async (services) => {
    const result = await services.users.createUser(
      { email: values.email!, name: values.name!, role, password },
      noRequestContext,
    );
    if (!result.ok) throw new Error(describeCreateUserRefusal(result).message);
    console.log(`Created ${result.user.role} ${result.user.email} (id ${result.user.id}).`);
  });
}

async function resetSecondFactorCommand(config: Config, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { email: { type: "string" }, reason: { type: "string" } },
    strict: true,
  });
  const reason = values.reason?.trim();
  if (!values.email || !reason) throw new UsageError("user reset-2fa needs --email and --reason.");
  return withServices(config, async (services) => {
    const user = await services.users.findUserByEmail(values.email!);
    if (!user) {
      console.error(`No user has the email address ${values.email}. Nothing was changed.`);
      return 1;
    }
    // No admin acted: the audit event has no actor, and the reason says why.
    const result = await services.admin.resetSecondFactor(null, user.id, reason, noRequestContext);
    if (!result.ok) throw new Error(describeAdminRefusal(result).message);
    console.log(describeSecondFactorReset(result.reset));
    return 0;
  });
}

async function demo(config: Config) {
  if (config.isProduction) throw new UsageError("Demo accounts are never created in production.");
  await withServices(config, async (services) => {
    console.log(describeDemoAccounts(await ensureDemoAccounts(services)));
  });
}

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === "help" || command === "--help") {
      console.log(usage);
      return command ? 0 : 2;
    }
    const config = loadConfig(undefined, () => undefined);
    if (command === "migrate" && rest.length === 0) await migrate(config);
    else if (command === "user" && rest[0] === "create") await createUserCommand(config, rest.slice(1));
    else if (command === "user" && rest[0] === "reset-2fa") return await resetSecondFactorCommand(config, rest.slice(1));
    else if (command === "demo" && rest.length === 0) await demo(config);
    else throw new UsageError(`Unknown command: ${argv.join(" ")}`);
    return 0;
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`${(error as Error).message}\n\n${usage}`);
      return 2;
    }
    console.error((error as Error).message);
    return 1;
  }
}

runCli(process.argv.slice(2)).then((code) => process.exit(code));
