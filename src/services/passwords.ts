import { dictionary } from "@zxcvbn-ts/language-common";
import bcrypt from "bcrypt";
import type { Role } from "../config.js";

// bcrypt reads only the first 72 bytes; longer passwords are refused rather than truncated.
const maxPasswordBytes = 72;

function minPasswordLength(role: Role): number {
  return role === "admin" ? 15 : 12;
}

// ~49,000 passwords seen most often in public breaches, ranked (zxcvbn's list).
const commonPasswords = new Set(dictionary["passwords-common"].map((password) => password.toLowerCase()));

/** Which rule of the password policy a new password breaks; the web layer words it. */
export type PasswordProblem =
  | { rule: "min_length"; minimum: number }
  | { rule: "max_bytes"; maxBytes: number }
  | { rule: "common" }
  | { rule: "contains_email" };

/** The first rule the password breaks, or null when it is acceptable. */
export function checkNewPassword(password: string, role: Role, email?: string): PasswordProblem | null {
  const minimum = minPasswordLength(role);
  if ([...password].length < minimum) return { rule: "min_length", minimum };
  if (Buffer.byteLength(password, "utf8") > maxPasswordBytes) return { rule: "max_bytes", maxBytes: maxPasswordBytes };
  if (commonPasswords.has(password.toLowerCase())) return { rule: "common" };
  if (email && password.toLowerCase().includes(email.toLowerCase().split("@")[0] ?? "\u0000")) return { rule: "contains_email" };
  return null;
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

/** Compares a password with a bcrypt hash; a dependency of the login, so tests can observe it. */
export type PasswordVerifier = (password: string, hash: string) => Promise<boolean>;

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  // bcrypt would silently compare only the first 72 bytes.
  if (Buffer.byteLength(password, "utf8") > maxPasswordBytes) return bcrypt.compare("", hash).then(() => false);
  return bcrypt.compare(password, hash);
}

/**
 * A hash to compare against when the email is unknown, so that an unknown email costs the same
 * bcrypt work as a wrong password. Made once per cost at start-up.
 */
export async function createDummyHash(cost: number): Promise<string> {
  return bcrypt.hash(`dummy-${Math.random()}`, cost);
}
