/** How many digits an SMS code and an authenticator-app code have. */
export const codeDigits = 6;

/**
 * A 6-digit code as typed (SMS, app), without the spaces and dashes people put in it or that
 * copying adds ("123 456", "123-456"); full-width digits from a phone keyboard count as digits.
 * Null when what is left is not 6 digits: a format mistake, answered without taking a try.
 */
export function normaliseDigitCode(typed: string): string | null {
  const code = typed.normalize("NFKC").replace(/[\s\p{Pd}\u2212]+/gu, "");
  return new RegExp(`^[0-9]{${codeDigits}}$`).test(code) ? code : null;
}
