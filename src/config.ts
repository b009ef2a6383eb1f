import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { z } from "zod";
import { countGsm7Septets, isGsm7, nonGsm7Characters } from "./gateways/gsm7.js";

// The only module that reads process.env. Everything else receives a Config.

const roles = ["patient", "doctor", "admin"] as const;
/** The languages the portal speaks: each has its catalogues in locales/<language>/ (src/i18n.ts). */
export const locales = ["en", "nl"] as const;
export type Locale = (typeof locales)[number];

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (locales as readonly string[]).includes(value);
}

// The code SMS names the portal and ends with "@host #code": with these bounds, every code text
// fits one GSM-7 segment in every language (test/unit/phone-texts.test.ts counts).
export const maxPortalNameLength = 40;
export const maxPublicHostLength = 40;

const regionList = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((region) => region.trim().toUpperCase())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[A-Z]{2}$/, "must be two-letter region codes")).min(1));

/** A comma-separated list of roles, e.g. "doctor,admin". */
const roleList = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((value) =>
      value
        .split(",")
        .map((role) => role.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(roles)));

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_MIGRATION_URL: z.string().url().optional(),
  SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  APP_ENCRYPTION_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/=_-]+$/, "must be base64")
    .refine((value) => Buffer.from(value, "base64").length === 32, "must be 32 bytes in base64")
    .optional(),
  PUBLIC_BASE_URL: z
    .string()
    .url()
    .refine(
      (value) => new URL(value).hostname.length <= maxPublicHostLength,
      `must have a host name of at most ${maxPublicHostLength} characters, so that a code SMS fits one text message`,
    )
    .optional(),
  TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/, "must look like AC followed by 32 hex digits")
    .optional(),
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  TWILIO_FROM_NUMBER: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, "must be an E.164 number")
    .optional(),
  TWILIO_API_BASE_URL: z.string().url().optional(),
  PHONE_GATEWAY: z.enum(["twilio", "outbox"]).optional(),
  PHONE_DEFAULT_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .default("NL"),
  PHONE_ALLOWED_REGIONS: regionList.default(["NL"]),
  PHONE_DAILY_LIMIT: z.coerce.number().int().min(0).default(1000),
  TRUST_PROXY: z.string().default("false"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  PORTAL_NAME: z
    .string()
    .min(1)
    .refine((value) => isGsm7(value), {
      error: (issue) =>
        `can use only characters a text message carries without switching to another alphabet; not ${nonGsm7Characters(String(issue.input)).join(" ")}`,
      abort: true,
    })
    .refine(
      (value) => (countGsm7Septets(value) ?? Number.POSITIVE_INFINITY) <= maxPortalNameLength,
      `must be at most ${maxPortalNameLength} characters (each of ^ { } [ ] ~ | € \\ counts as two), so that a code SMS fits one text message`,
    )
    .default("Portal"),
  DEFAULT_LOCALE: z.enum(locales).default("en"),
  PRACTICE_PHONE: z
    .string()
    .regex(/^\+?[0-9][0-9 ()-]{4,38}$/, "must be a phone number, like 020 123 4567 or +31 20 123 4567")
    .optional(),
  BCRYPT_COST: z.coerce.number().int().min(10).max(15).default(12),
  REQUIRE_2FA_ROLES: roleList("doctor,admin"),
  REMEMBER_BROWSER_DAYS: z.coerce.number().int().min(0).max(365).default(30),
  REMEMBER_BROWSER_ROLES: roleList("patient"),
  DATA_DIR: z.string().default("./data"),
  VIEW_CACHE: z.enum(["true", "false"], { error: "must be true or false" }).default("true"),
  PASSWORD_CHECK_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  PASSWORD_CHECK_QUEUE: z.coerce.number().int().min(0).max(10_000).optional(),
  PASSWORD_CHECK_WAIT_MS: z.coerce.number().int().min(1).max(60_000).default(3000),
  PASSWORD_CHECK_PER_CLIENT: z.coerce.number().int().min(1).max(10_000).default(1),
});

export type Role = (typeof roles)[number];

export interface Config {
  nodeEnv: "development" | "production" | "test";
  isProduction: boolean;
  port: number;
  /** Undefined outside production means: start the embedded database under dataDir. */
  databaseUrl: string | undefined;
  /**
   * The tables' owner, for migrations only; the app itself connects as DATABASE_URL's role, which
   * owns nothing. Unset: DATABASE_URL migrates when its role owns the schema (one role).
   */
  databaseMigrationUrl: string | undefined;
  dataDir: string;
  sessionSecret: string;
  encryptionKey: { id: string; key: Buffer };
  publicBaseUrl: string;
  phoneGateway: "twilio" | "outbox";
  twilio: {
    accountSid: string | undefined;
    authToken: string | undefined;
    fromNumber: string | undefined;
    apiBaseUrl: string | undefined;
  };
  phoneDefaultRegion: string;
  phoneAllowedRegions: string[];
  phoneDailyLimit: number;
  trustProxy: boolean | number | string;
  logLevel: string;
  portalName: string;
  /** The language of a visitor whose browser asks for none the portal speaks, and of the texts to a user who chose none. */
  defaultLocale: Locale;
  /** The practice's phone number as people should read it; shown wherever a user is told to contact the practice. */
  practicePhone: string | undefined;
  bcryptCost: number;
  require2faRoles: Role[];
  /** How long "don't ask again on this browser" skips the second step; 0: never offered. */
  rememberBrowserDays: number;
  /** The roles offered "don't ask again on this browser". */
  rememberBrowserRoles: Role[];
  /** Templates compiled once and kept (Express "view cache"); `npm run dev` turns it off to see edits. */
  viewCache: boolean;
  /** Admission control for bcrypt comparisons (services/password-checks.ts). */
  passwordChecks: { concurrency: number; queueLength: number; maxWaitMs: number; perClient: number };
}

export class ConfigError extends Error {}

function parseTrustProxy(value: string): boolean | number | string {
  if (value === "true") return true;
  if (value === "false" || value === "") return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value; // an address list such as "loopback, 10.0.0.0/8"
}

interface GeneratedSecrets {
  sessionSecret: string;
  encryptionKey: string;
}

// Outside production, missing secrets are generated once and kept beside the embedded database,
// so sessions and encrypted secrets survive a restart.
function loadOrCreateDevSecrets(dataDir: string, warn: (message: string) => void): GeneratedSecrets {
  const file = path.join(dataDir, "secrets.json");
  if (existsSync(file)) {
    return JSON.parse(readFileSync(file, "utf8")) as GeneratedSecrets;
  }
  mkdirSync(dataDir, { recursive: true });
  const secrets: GeneratedSecrets = {
    sessionSecret: randomBytes(32).toString("base64url"),
    encryptionKey: randomBytes(32).toString("base64"),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  warn(`Generated development secrets in ${file}; set SESSION_SECRET and APP_ENCRYPTION_KEY in production.`);
  return secrets;
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = (message) => console.warn(message),
): Config {
  // Empty strings (as left by a copied .env.example) count as unset.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Invalid configuration: ${issue?.path.join(".")} ${issue?.message}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === "production";

  if (isProduction) {
    for (const name of ["DATABASE_URL", "SESSION_SECRET", "APP_ENCRYPTION_KEY", "PUBLIC_BASE_URL"] as const) {
      if (!e[name]) throw new ConfigError(`${name} is required in production.`);
    }
  }

  const phoneGateway = e.PHONE_GATEWAY ?? (e.TWILIO_ACCOUNT_SID ? "twilio" : "outbox");
  if (phoneGateway === "outbox" && isProduction) {
    throw new ConfigError("PHONE_GATEWAY=outbox is not allowed in production; configure Twilio.");
  }
  if (phoneGateway === "twilio") {
    for (const name of ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"] as const) {
      if (!e[name]) throw new ConfigError(`${name} is required when PHONE_GATEWAY is twilio.`);
    }
  }

  let sessionSecret = e.SESSION_SECRET;
  let encryptionKey = e.APP_ENCRYPTION_KEY;
  if (!sessionSecret || !encryptionKey) {
    const generated = loadOrCreateDevSecrets(e.DATA_DIR, warn);
    sessionSecret ??= generated.sessionSecret;
    encryptionKey ??= generated.encryptionKey;
  }

  // bcrypt takes a core per comparison: by default one core is left for the pages.
  const passwordCheckConcurrency = e.PASSWORD_CHECK_CONCURRENCY ?? Math.max(1, availableParallelism() - 1);

  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, "");

  return {
    nodeEnv: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databaseMigrationUrl: e.DATABASE_MIGRATION_URL,
    dataDir: e.DATA_DIR,
    sessionSecret,
    encryptionKey: { id: "k1", key: Buffer.from(encryptionKey, "base64") },
    publicBaseUrl,
    phoneGateway,
    twilio: {
      accountSid: e.TWILIO_ACCOUNT_SID,
      authToken: e.TWILIO_AUTH_TOKEN,
      fromNumber: e.TWILIO_FROM_NUMBER,
      apiBaseUrl: e.TWILIO_API_BASE_URL,
    },
    phoneDefaultRegion: e.PHONE_DEFAULT_REGION,
    phoneAllowedRegions: e.PHONE_ALLOWED_REGIONS,
    phoneDailyLimit: e.PHONE_DAILY_LIMIT,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    logLevel: e.LOG_LEVEL,
    portalName: e.PORTAL_NAME,
    defaultLocale: e.DEFAULT_LOCALE,
    practicePhone: e.PRACTICE_PHONE,
    bcryptCost: e.BCRYPT_COST,
    require2faRoles: e.REQUIRE_2FA_ROLES,
    rememberBrowserDays: e.REMEMBER_BROWSER_DAYS,
    rememberBrowserRoles: e.REMEMBER_BROWSER_ROLES,
    viewCache: e.VIEW_CACHE === "true",
    passwordChecks: {
      concurrency: passwordCheckConcurrency,
      queueLength: e.PASSWORD_CHECK_QUEUE ?? 2 * passwordCheckConcurrency,
      maxWaitMs: e.PASSWORD_CHECK_WAIT_MS,
      perClient: e.PASSWORD_CHECK_PER_CLIENT,
    },
  };
}

/** Reads the password for the CLI's `user create` from the environment, if given there. */
export function readCliPassword(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.PORTAL_PASSWORD || undefined;
}
