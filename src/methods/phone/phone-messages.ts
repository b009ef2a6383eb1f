// The words of the code SMS. The last line is the origin-bound one-time-code format
// ("@host #code"): phones offer the code for autofill only on that site, so a look-alike site
// gets no help from the phone.

export function buildCodeMessage({
  portalName,
  publicBaseUrl,
  code,
  purpose,
  lifetimeMinutes,
}: {
  portalName: string;
  publicBaseUrl: string;
  code: string;
  purpose: "login" | "enrol";
  lifetimeMinutes: number;
}): string {
  const host = new URL(publicBaseUrl).hostname;
  const use =
    purpose === "login"
      ? `It expires in ${lifetimeMinutes} minutes.`
      : `It confirms this phone number and expires in ${lifetimeMinutes} minutes.`;
  return `Your ${portalName} code is ${code}. ${use}\n\n@${host} #${code}`;
}
