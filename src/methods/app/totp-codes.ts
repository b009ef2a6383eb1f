import { generate, generateSecret, verify } from "otplib";
import QRCode from "qrcode";

/**
 * Authenticator-app (TOTP, RFC 6238) building blocks: no database, no HTTP.
 * The HOTP/TOTP arithmetic is otplib's; this module pins the parameters and shapes the results.
 */

// Every otplib call passes these explicitly rather than trusting library defaults to stay the same.
export const totpAlgorithm = "sha1";
export const totpDigits = 6;
export const totpPeriodSeconds = 30;
// 160 bits, the HMAC-SHA-1 block output size recommended by RFC 4226; base32 makes it 32 characters.
export const totpSecretBytes = 20;
// One step either side absorbs phone clock drift and the time spent typing.
export const totpWindowSteps = 1;
export const qrCodeSizePixels = 220;

const totpParameters = { algorithm: totpAlgorithm, digits: totpDigits, period: totpPeriodSeconds } as const;
const codePattern = new RegExp(`^[0-9]{${totpDigits}}$`);

/** A new random secret, base32 without padding (otplib draws it from a CSPRNG). */
export function generateTotpSecret(): string {
  return generateSecret({ length: totpSecretBytes });
}

/** "ABCD EFGH …": easier to copy by hand when the QR code cannot be scanned. */
export function formatSecretForDisplay(secret: string): string {
  return (secret.replace(/\s+/g, "").match(/.{1,4}/g) ?? []).join(" ");
}

export interface OtpauthUriInput {
  secret: string;
  issuer: string;
  accountName: string;
}

/**
 * The Key URI Format understood by authenticator apps. Built here rather than with otplib's
 * generateURI, which leaves out algorithm, digits and period when they equal its defaults;
 * writing them out keeps the enrolment self-describing. encodeURIComponent (not URLSearchParams)
 * so spaces become %20: several apps show a literal "+" otherwise.
 */
export function buildOtpauthUri({ secret, issuer, accountName }: OtpauthUriInput): string {
  // A colon separates issuer from account in the label, so it cannot appear inside either.
  if (!issuer || issuer.includes(":") || !accountName || accountName.includes(":")) {
    throw new RangeError("Issuer and account name must be non-empty and must not contain ':'.");
  }
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`;
  const query = [
    ["secret", secret],
    ["issuer", issuer],
    ["algorithm", totpAlgorithm.toUpperCase()],
    ["digits", String(totpDigits)],
    ["period", String(totpPeriodSeconds)],
  ]
    .map(([name, value]) => `${name}=${encodeURIComponent(value ?? "")}`)
    .join("&");
  return `otpauth://totp/${label}?${query}`;
}

export interface QrCodeImage {
  /** `data:image/png;base64,…`, usable as `<img src>` under `img-src 'self' data:`. */
  dataUrl: string;
  /** Width and height of the PNG in pixels (quiet zone included). */
  size: number;
}

/** Renders the otpauth URI as a PNG on the server, so no script or third-party service sees the secret. */
export async function renderQrCode(uri: string): Promise<QrCodeImage> {
  const dataUrl = await QRCode.toDataURL(uri, {
    type: "image/png",
    // M (15 % recovery) keeps the symbol small enough to scan easily from a screen.
    errorCorrectionLevel: "M",
    // Four modules of quiet zone, as the QR specification asks for.
    margin: 4,
    width: qrCodeSizePixels,
  });
  return { dataUrl, size: qrCodeSizePixels };
}

/** RFC 6238 time step: whole 30-second periods since the Unix epoch. */
export function timeStepAt(date: Date): number {
  return Math.floor(date.getTime() / 1000 / totpPeriodSeconds);
}

/** The code an authenticator shows at `date` (tests, e2e and demo only; the server never needs it). */
export function generateTotpCode(secret: string, date: Date): Promise<string> {
  return generate({ secret, ...totpParameters, epoch: unixSecondsAt(date) });
}

/**
 * The time step whose code matches, searching now-1 … now+1 steps, or null.
 * The caller stores the step and refuses codes at or before the last used one (replay).
 * otplib's verify reports the matched step (`timeStep`), compares in constant time, and takes its
 * window in seconds: a tolerance of exactly one period checks precisely the neighbouring steps.
 */
export async function findTotpStep(secret: string, code: string, now: Date): Promise<number | null> {
  // otplib throws on malformed tokens; a typed code is user input, so it is simply "no match".
  if (typeof code !== "string" || !codePattern.test(code)) return null;
  const result = await verify({
    secret,
    token: code,
    ...totpParameters,
    epoch: unixSecondsAt(now),
    epochTolerance: totpWindowSteps * totpPeriodSeconds,
  });
  // The functional verify is typed for both TOTP and HOTP results; only the TOTP one has timeStep.
  return result.valid && "timeStep" in result ? result.timeStep : null;
}

function unixSecondsAt(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
