import assert from "node:assert/strict";
import { test } from "node:test";
import { createI18n, translatorFor } from "../../src/i18n.js";
import { checkNewPassword } from "../../src/services/passwords.js";
import { describePasswordChangeRefusal, describePasswordProblem } from "../../src/web/password-words.js";

const wordsFor = (password: string, role: "patient" | "admin", email?: string) => {
  const problem = checkNewPassword(password, role, email);
  assert.ok(problem, password);
  return describePasswordProblem(problem);
};

test("each rule of the password policy is explained in words, with its numbers", () => {
  assert.equal(wordsFor("short", "patient"), "The password must be at least 12 characters long.");
  assert.equal(wordsFor("fourteen chars", "admin"), "The password must be at least 15 characters long.");
  assert.match(wordsFor("a".repeat(73), "patient"), /^The password is too long: at most 72 bytes/);
  assert.match(wordsFor("qwerty123456", "patient"), /one of the most common passwords/);
  assert.equal(
    wordsFor("jan.devries-2024!", "patient", "jan.devries@example.test"),
    "The password must not contain your email address.",
  );
});

test("an admin choosing someone's first password reads of their email address, not of the admin's own", () => {
  assert.equal(
    describePasswordProblem({ rule: "contains_email" }, "their"),
    "The password must not contain their email address.",
  );
});

test("a new password equal to the current one is refused in words", () => {
  assert.equal(
    describePasswordChangeRefusal({ ok: false, reason: "same_as_current" }),
    "Choose a password different from your current one.",
  );
});

test("the policy is worded in the page's language; without one, in English (the command line)", () => {
  const dutch = translatorFor(createI18n({ defaultLocale: "en" }), "nl");
  assert.equal(
    describePasswordProblem({ rule: "min_length", minimum: 15 }, "your", dutch),
    "Het wachtwoord moet minstens 15 tekens lang zijn.",
  );
  assert.match(
    describePasswordProblem({ rule: "max_bytes", maxBytes: 72 }, "your", dutch),
    /^Het wachtwoord is te lang: hoogstens 72 bytes \(ongeveer 72 letters/,
  );
  assert.equal(
    describePasswordProblem({ rule: "contains_email" }, "their", dutch),
    "Het wachtwoord mag het e-mailadres van de gebruiker niet bevatten.",
  );
  assert.equal(
    describePasswordChangeRefusal({ ok: false, reason: "same_as_current" }, dutch),
    "Kies een ander wachtwoord dan uw huidige.",
  );
  assert.equal(
    describePasswordChangeRefusal({ ok: false, reason: "weak_password", problem: { rule: "common" } }, dutch),
    "Dit wachtwoord is een van de meest gebruikte wachtwoorden en is makkelijk te raden. Kies een ander wachtwoord.",
  );
});
