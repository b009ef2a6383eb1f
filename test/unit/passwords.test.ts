import assert from "node:assert/strict";
import { test } from "node:test";
import { checkNewPassword, hashPassword, verifyPassword } from "../../src/services/passwords.js";

test("passwords under 12 characters (15 for admins) are refused", () => {
  assert.deepEqual(checkNewPassword("eleven char", "patient"), { rule: "min_length", minimum: 12 });
  assert.equal(checkNewPassword("twelve chars", "patient"), null);
  assert.deepEqual(checkNewPassword("fourteen chars", "admin"), { rule: "min_length", minimum: 15 });
  assert.equal(checkNewPassword("fifteen chars!!", "admin"), null);
});

test("passwords over 72 UTF-8 bytes are refused rather than silently truncated", () => {
  assert.equal(checkNewPassword("a".repeat(72), "patient"), null);
  assert.deepEqual(checkNewPassword("a".repeat(73), "patient"), { rule: "max_bytes", maxBytes: 72 });
  // 25 characters but 75 bytes.
  assert.deepEqual(checkNewPassword("€".repeat(25), "patient"), { rule: "max_bytes", maxBytes: 72 });
});

test("the most common passwords are refused", () => {
  assert.deepEqual(checkNewPassword("qwerty123456", "patient"), { rule: "common" });
  assert.deepEqual(checkNewPassword("1q2w3e4r5t6y", "patient"), { rule: "common" });
});

test("a password containing the email name is refused", () => {
  assert.deepEqual(checkNewPassword("jan.devries-2024!", "patient", "jan.devries@example.test"), { rule: "contains_email" });
  assert.equal(checkNewPassword("jan.devries-2024!", "patient"), null, "without an email there is nothing to contain");
});

test("hash and verify round-trip; a 73-byte password never matches its 72-byte prefix", async () => {
  const hash = await hashPassword("a".repeat(72), 10);
  assert.ok(hash.startsWith("$2b$10$"));
  assert.equal(await verifyPassword("a".repeat(72), hash), true);
  assert.equal(await verifyPassword("a".repeat(73), hash), false);
  assert.equal(await verifyPassword("b".repeat(72), hash), false);
});
