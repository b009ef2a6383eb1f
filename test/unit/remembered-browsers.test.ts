import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/config.js";
import { describeBrowser } from "../../src/services/user-agents.js";
import {
  formatBrowserKeys,
  maxRememberedUsers,
  parseBrowserKeys,
  rememberCookieName,
  rememberCookieOptions,
} from "../../src/web/remembered-browsers.js";

const quiet = () => undefined;
const base = {
  NODE_ENV: "test",
  SESSION_SECRET: "s".repeat(40),
  APP_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("base64"),
};
const token = (letter: string) => letter.repeat(43);

test("remembered browsers are on for patients for 30 days unless configured otherwise", () => {
  const defaults = loadConfig(base, quiet);
  assert.equal(defaults.rememberBrowserDays, 30);
  assert.deepEqual(defaults.rememberBrowserRoles, ["patient"]);
  const custom = loadConfig({ ...base, REMEMBER_BROWSER_DAYS: "0", REMEMBER_BROWSER_ROLES: "patient, doctor" }, quiet);
  assert.equal(custom.rememberBrowserDays, 0);
  assert.deepEqual(custom.rememberBrowserRoles, ["patient", "doctor"]);
  assert.throws(() => loadConfig({ ...base, REMEMBER_BROWSER_ROLES: "patient,nurse" }, quiet), /REMEMBER_BROWSER_ROLES/);
  assert.throws(() => loadConfig({ ...base, REMEMBER_BROWSER_DAYS: "-1" }, quiet), /REMEMBER_BROWSER_DAYS/);
  assert.throws(() => loadConfig({ ...base, REMEMBER_BROWSER_DAYS: "400" }, quiet), /REMEMBER_BROWSER_DAYS/);
});

test("in production the remember cookie is __Host-, Secure, HttpOnly and SameSite=Lax on path /", () => {
  const production = loadConfig(
    {
      ...base,
      NODE_ENV: "production",
      DATABASE_URL: "postgres://portal@db/portal",
      PUBLIC_BASE_URL: "https://portal.example",
      TWILIO_ACCOUNT_SID: `AC${"a".repeat(32)}`,
      TWILIO_AUTH_TOKEN: "token",
      TWILIO_FROM_NUMBER: "+3197010000000",
    },
    quiet,
  );
  assert.equal(rememberCookieName(production), "__Host-portal.remember");
  assert.deepEqual(rememberCookieOptions(production), {
    httpOnly: true,
    sameSite: "lax",
    secure: true,
    path: "/",
    maxAge: 30 * 24 * 60 * 60_000,
  });
  assert.equal(rememberCookieName(loadConfig(base, quiet)), "portal.remember");
});

test("the cookie holds one id.token pair per user, at most 5, and anything malformed is left out", () => {
  const keys = [1, 2, 3, 4, 5, 6].map((id) => ({ id, token: token(String.fromCharCode(64 + id)) }));
  const value = formatBrowserKeys(keys);
  assert.equal(parseBrowserKeys(value).length, maxRememberedUsers);
  assert.deepEqual(
    parseBrowserKeys(value).map((key) => key.id),
    [2, 3, 4, 5, 6],
    "the oldest goes first",
  );
  assert.ok(value.length < 300);
  assert.deepEqual(parseBrowserKeys(`12.${token("a")}~oops~13.short~14.${token("b")}.extra~x.${token("c")}`), [
    { id: 12, token: token("a") },
  ]);
  assert.deepEqual(parseBrowserKeys("x".repeat(1000)), []);
  assert.deepEqual(parseBrowserKeys(undefined), []);
});

test("browsers are described in a few plain words", () => {
  const cases: [string | null, string][] = [
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
      "Chrome on Windows",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
      "Safari on iOS",
    ],
    ["Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox on Linux"],
    ["curl/8.0", "A browser"],
    ["", "Unknown browser"],
    [null, "Unknown browser"],
  ];
  for (const [userAgent, words] of cases) assert.equal(describeBrowser(userAgent), words, String(userAgent));
  assert.ok(describeBrowser(`Mozilla/5.0 ${"x".repeat(5000)}`).length <= 100);
});
