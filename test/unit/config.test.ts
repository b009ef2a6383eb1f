import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";

const quiet = () => undefined;
const productionBase = {
  NODE_ENV: "production",
  DATABASE_URL: "postgres://portal@db/portal",
  SESSION_SECRET: "s".repeat(40),
  APP_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("base64"),
  PUBLIC_BASE_URL: "https://portal.example",
  TWILIO_ACCOUNT_SID: `AC${"a".repeat(32)}`,
  TWILIO_AUTH_TOKEN: "token",
  TWILIO_FROM_NUMBER: "+3197010000000",
};

test("production refuses to start without each required secret, naming it", () => {
  assert.equal(loadConfig(productionBase, quiet).isProduction, true);
  for (const name of ["DATABASE_URL", "SESSION_SECRET", "APP_ENCRYPTION_KEY"] as const) {
    const env: Record<string, string> = { ...productionBase };
    delete env[name];
    assert.throws(
      () => loadConfig(env, quiet),
      (error: Error) => error instanceof ConfigError && error.message.includes(name),
    );
  }
});

test("production refuses the development outbox and missing Twilio settings", () => {
  assert.throws(() => loadConfig({ ...productionBase, PHONE_GATEWAY: "outbox" }, quiet), /outbox is not allowed/);
  const { TWILIO_AUTH_TOKEN: _omitted, ...withoutToken } = productionBase;
  assert.throws(() => loadConfig(withoutToken, quiet), /TWILIO_AUTH_TOKEN/);
});

test("outside production, missing secrets are generated once and kept under the data folder", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "portal-config-"));
  const warnings: string[] = [];
  const first = loadConfig({ DATA_DIR: dataDir }, (message) => warnings.push(message));
  assert.ok(existsSync(path.join(dataDir, "secrets.json")));
  assert.equal(warnings.length, 1);
  const second = loadConfig({ DATA_DIR: dataDir }, (message) => warnings.push(message));
  assert.equal(second.sessionSecret, first.sessionSecret);
  assert.deepEqual(second.encryptionKey.key, first.encryptionKey.key);
  assert.equal(first.encryptionKey.key.length, 32);
  assert.equal(warnings.length, 1, "no second warning");
  assert.match(readFileSync(path.join(dataDir, "secrets.json"), "utf8"), /sessionSecret/);
});

test("defaults match the documented interface", () => {
  const config = loadConfig({ DATA_DIR: mkdtempSync(path.join(tmpdir(), "portal-config-")) }, quiet);
  assert.equal(config.port, 3000);
  assert.equal(config.bcryptCost, 12);
  assert.equal(config.phoneGateway, "outbox");
  assert.equal(config.phoneDefaultRegion, "NL");
  assert.deepEqual(config.phoneAllowedRegions, ["NL"]);
  assert.equal(config.phoneDailyLimit, 1000);
  assert.deepEqual(config.require2faRoles, ["doctor", "admin"]);
  assert.equal(config.trustProxy, false);
  assert.equal(config.databaseUrl, undefined);
});

test("a bcrypt cost under 10 and a malformed value are refused with the variable's name", () => {
  assert.throws(() => loadConfig({ ...productionBase, BCRYPT_COST: "8" }, quiet), /BCRYPT_COST/);
  assert.throws(() => loadConfig({ ...productionBase, APP_ENCRYPTION_KEY: "short" }, quiet), /APP_ENCRYPTION_KEY/);
  assert.throws(() => loadConfig({ ...productionBase, PHONE_ALLOWED_REGIONS: "NL,Holland" }, quiet), /PHONE_ALLOWED_REGIONS/);
});

test("a process clock far from the database's is reported", async () => {
  const { describeClockSkew } = await import("../../src/services/clock-skew.js");
  assert.equal(describeClockSkew(3), null);
  assert.match(describeClockSkew(95) ?? "", /95 s ahead of the database server's/);
  assert.match(describeClockSkew(-120) ?? "", /120 s behind/);
});

test("templates are kept compiled unless VIEW_CACHE=false (as npm run dev sets)", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "portal-config-"));
  assert.equal(loadConfig({ DATA_DIR: dataDir }, quiet).viewCache, true);
  assert.equal(loadConfig({ DATA_DIR: dataDir, VIEW_CACHE: "false" }, quiet).viewCache, false);
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, VIEW_CACHE: "no" }, quiet), /VIEW_CACHE must be true or false/);
  const scripts = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).scripts;
  assert.match(scripts.dev, /\bVIEW_CACHE=false\b/);
  assert.doesNotMatch(scripts.start, /VIEW_CACHE/);
});

test("password checks at once leave a core for the pages by default, with a queue twice as long", async () => {
  const { availableParallelism } = await import("node:os");
  const dataDir = mkdtempSync(path.join(tmpdir(), "portal-config-"));
  const cores = availableParallelism();
  assert.deepEqual(loadConfig({ DATA_DIR: dataDir }, quiet).passwordChecks, {
    concurrency: Math.max(1, cores - 1),
    queueLength: 2 * Math.max(1, cores - 1),
    maxWaitMs: 3000,
    perClient: 1,
  });
  assert.deepEqual(
    loadConfig({ DATA_DIR: dataDir, PASSWORD_CHECK_CONCURRENCY: "3", PASSWORD_CHECK_WAIT_MS: "500" }, quiet).passwordChecks,
    { concurrency: 3, queueLength: 6, maxWaitMs: 500, perClient: 1 },
  );
  assert.equal(loadConfig({ DATA_DIR: dataDir, PASSWORD_CHECK_QUEUE: "0" }, quiet).passwordChecks.queueLength, 0);
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, PASSWORD_CHECK_CONCURRENCY: "0" }, quiet), /PASSWORD_CHECK_CONCURRENCY/);
});
