import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import type { Config } from "../config.js";

export type ParsedPhone = { ok: true; e164: string } | { ok: false; error: string };

/**
 * Turns what a user typed ("06 12345678", "+31 6 1234 5678") into E.164, refusing numbers that
 * cannot receive our SMS or that cost the practice money to reach (SMS pumping, toll fraud).
 */
export function parsePhoneInput(input: string, config: Pick<Config, "phoneDefaultRegion" | "phoneAllowedRegions">): ParsedPhone {
  const trimmed = input.trim();
  if (!trimmed) return { ok: false, error: "Enter your mobile phone number." };
  const phone = parsePhoneNumberFromString(trimmed, config.phoneDefaultRegion as never);
  if (!phone?.isValid()) {
    return { ok: false, error: "This is not a valid phone number. Check the digits, for example 06 12345678 or +31 6 12345678." };
  }
  if (!phone.country || !config.phoneAllowedRegions.includes(phone.country)) {
    const allowed = config.phoneAllowedRegions.join(", ");
    return { ok: false, error: `Only phone numbers from ${allowed} can be used for two-step login.` };
  }
  const type = phone.getType();
  if (type === "PREMIUM_RATE" || type === "SHARED_COST") {
    return { ok: false, error: "Premium-rate and shared-cost numbers cannot be used. Enter your own mobile number." };
  }
  if (type !== "MOBILE" && type !== "FIXED_LINE_OR_MOBILE") {
    return { ok: false, error: "This is not a mobile number. Text messages need a mobile phone: enter your mobile number." };
  }
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
