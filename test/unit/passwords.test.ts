import assert from "node:assert/strict";
import { test } from "node:test";
import { checkNewPassword, hashPassword, verifyPassword } from "../../src/services/passwords.js";

test("passwords under 12 characters (15 for admins) are refused", () => {
  assert.match(checkNewPassword("eleven char", "patient") ?? "", /at least 12 characters/);
  assert.equal(checkNewPassword("twelve chars", "patient"), null);
  assert.match(checkNewPassword("fourteen chars", "admin") ?? "", /at least 15 characters/);
  assert.equal(checkNewPassword("fifteen chars!!", "admin"), null);
});

test("passwords over 72 UTF-8 bytes are refused rather than silently truncated", () => {
  assert.equal(checkNewPassword("a".repeat(72), "patient"), null);
  assert.match(checkNewPassword("a".repeat(73), "patient") ?? "", /too long/);
  // 25 characters but 75 bytes.
  assert.match(checkNewPassword("€".repeat(25), "patient") ?? "", /too long/);
});

test("the most common passwords are refused", () => {
  assert.match(checkNewPassword("qwerty123456", "patient") ?? "", /most common passwords/);
  assert.match(checkNewPassword("1q2w3e4r5t6y", "patient") ?? "", /most common passwords/);
});

test("a password containing the email name is refused", () => {
  assert.match(checkNewPassword("jan.devries-2024!", "patient", "jan.devries@example.test") ?? "", /email/);
});

test("hash and verify round-trip; a 73-byte password never matches its 72-byte prefix", async () => {
  const hash = await hashPassword("a".repeat(72), 10);
  assert.ok(hash.startsWith("$2b$10$"));
  assert.equal(await verifyPassword("a".repeat(72), hash), true);
  assert.equal(await verifyPassword("a".repeat(73), hash), false);
  assert.equal(await verifyPassword("b".repeat(72), hash), false);
});
