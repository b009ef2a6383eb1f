import { createHmac, randomInt } from "node:crypto";

/**
 * Recovery codes: one-time fallbacks for a lost authenticator. They are shown once, then only
 * their keyed hashes are stored. Pure functions: no database, no HTTP.
 */

// Lower-case letters and digits without 0/o, 1/i/l, which are easily confused when read or typed.
export const recoveryCodeAlphabet = "23456789abcdefghjkmnpqrstuvwxyz";
export const recoveryCodeGroups = 3;
export const recoveryCodeGroupLength = 5;
export const recoveryCodeLength = recoveryCodeGroups * recoveryCodeGroupLength;
export const recoveryCodeCount = 10;
/**
 * 15 characters drawn uniformly from 31: 15 × log2(31) = 15 × 4.954 ≈ 74.3 bits, above the
 * 64 bits required. (Twelve characters would give only 59.5 bits.)
 */
export const recoveryCodeEntropyBits = recoveryCodeLength * Math.log2(recoveryCodeAlphabet.length);
// HMAC keys shorter than this would make the pepper guessable; the server key is normally 32 bytes.
const minimumPepperBytes = 16;

/** Fresh codes formatted for display, such as `7kq2m-xw9ad-h3fne`; all distinct. */
export function generateRecoveryCodes(count = recoveryCodeCount): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(generateRecoveryCode());
  return [...codes];
}

/** Lower case, without spaces or dashes of any kind, so `7KQ2M XW9AD-h3fne` matches `7kq2m-xw9ad-h3fne`. */
export function normaliseRecoveryCode(input: string): string {
  // NFKC folds full-width letters and digits (mobile keyboards) to ASCII; \p{Pd} covers every dash
  // (en, em, hyphen…) and U+2212 the minus sign that some keyboards substitute.
  return input
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\s\p{Pd}\u2212]+/gu, "");
}

/** Whether the input, once normalised, has the shape of a recovery code (checked before any lookup). */
export function isRecoveryCodeShaped(input: string): boolean {
  const code = normaliseRecoveryCode(input);
  return code.length === recoveryCodeLength && [...code].every((char) => recoveryCodeAlphabet.includes(char));
}

/**
 * HMAC-SHA-256 of the normalised code, hex. Keyed with a server-side pepper so a leaked table of
 * hashes cannot be brute-forced offline; the codes' own entropy makes a slow hash unnecessary.
 */
export function hashRecoveryCode(code: string, pepper: Buffer): string {
  if (pepper.length < minimumPepperBytes) {
    throw new RangeError(`The recovery code key must be at least ${minimumPepperBytes} bytes.`);
  }
  return createHmac("sha256", pepper).update(normaliseRecoveryCode(code), "utf8").digest("hex");
}

function generateRecoveryCode(): string {
  const groups = Array.from({ length: recoveryCodeGroups }, () => generateRecoveryGroup());
  return groups.join("-");
}

// randomInt draws from the CSPRNG without modulo bias, so each character carries log2(31) bits.
function generateRecoveryGroup(): string {
  let group = "";
  for (let i = 0; i < recoveryCodeGroupLength; i++) group += recoveryCodeAlphabet[randomInt(recoveryCodeAlphabet.length)];
  return group;
}
