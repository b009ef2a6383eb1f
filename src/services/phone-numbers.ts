import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import type { Config } from "../config.js";

/** Why a typed number cannot be used; the page words it (methods:phone.numberProblems). */
export type PhoneNumberProblem = "missing" | "invalid" | "region" | "premium" | "not_mobile";

export type ParsedPhone =
  | { ok: true; e164: string }
  /** `allowedRegions`: the countries whose numbers can be used, for the words of "region". */
  | { ok: false; problem: PhoneNumberProblem; allowedRegions: string[] };

/**
 * Turns what a user typed ("06 12345678", "+31 6 1234 5678") into E.164, refusing numbers that
 * cannot receive our SMS or that cost the practice money to reach (SMS pumping, toll fraud).
 */
export function parsePhoneInput(input: string, config: Pick<Config, "phoneDefaultRegion" | "phoneAllowedRegions">): ParsedPhone {
  const refuse = (problem: PhoneNumberProblem): ParsedPhone => ({
    ok: false,
    problem,
    allowedRegions: config.phoneAllowedRegions,
  });
  const trimmed = input.trim();
  if (!trimmed) return refuse("missing");
  const phone = parsePhoneNumberFromString(trimmed, config.phoneDefaultRegion as never);
  if (!phone?.isValid()) return refuse("invalid");
  if (!phone.country || !config.phoneAllowedRegions.includes(phone.country)) return refuse("region");
  const type = phone.getType();
  if (type === "PREMIUM_RATE" || type === "SHARED_COST") return refuse("premium");
  if (type !== "MOBILE" && type !== "FIXED_LINE_OR_MOBILE") return refuse("not_mobile");
  return { ok: true, e164: phone.number };
}

/** "+31 6 •••• ••78": enough to recognise one's own number, never the whole of it. */
export function maskPhoneNumber(e164: string): string {
  const phone = parsePhoneNumberFromString(e164);
  if (!phone) return `•••• ${e164.slice(-2)}`;
  const national = String(phone.nationalNumber);
  const hidden = national.slice(1, -2).replace(/\d/g, "•") + national.slice(-2);
  // Groups of four counted from the end, so the visible digits close the last group.
  const groups =
    [...hidden]
      .reverse()
      .join("")
      .match(/.{1,4}/g)
      ?.map((group) => [...group].reverse().join(""))
      .reverse() ?? [];
  return `+${phone.countryCallingCode} ${national[0]} ${groups.join(" ")}`;
}

/** The last two digits only: what logs and the audit may keep of a number. */
export function phoneTail(e164: string): string {
  return `••${e164.slice(-2)}`;
}

/** A tel: link for a number as a person wrote it ("020 123 4567"), in E.164 when it parses. */
export function telUri(written: string, defaultRegion: string): string {
  const phone = parsePhoneNumberFromString(written, defaultRegion as never);
  return `tel:${phone?.isValid() ? phone.number : written.replace(/[^+\d]/g, "")}`;
}
