import type { Translate } from "../../i18n.js";

// The words of the code SMS, from the catalogue (locales/<language>/phone.json) in the
// recipient's language. The last line is the origin-bound one-time-code format ("@host #code"):
// phones offer the code for autofill only on that site, so a look-alike site gets no help from
// the phone. Every text fits one GSM-7 segment (test/unit/phone-texts.test.ts).

export function buildCodeMessage({
  words,
  portalName,
  publicBaseUrl,
  code,
  purpose,
  lifetimeMinutes,
}: {
  /** The recipient's language. */
  words: Translate;
  portalName: string;
  publicBaseUrl: string;
  code: string;
  purpose: "login" | "enrol";
  lifetimeMinutes: number;
}): string {
  const host = new URL(publicBaseUrl).hostname;
  const text = words(purpose === "login" ? "phone:sms.loginCode" : "phone:sms.enrolCode", {
    portalName,
    code,
    count: lifetimeMinutes,
  });
  return `${text}\n\n@${host} #${code}`;
}
