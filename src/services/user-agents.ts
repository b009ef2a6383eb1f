import Bowser from "bowser";

/** Longer headers than this are not parsed: nothing a real browser sends is near it. */
const maxUserAgentLength = 512;

/** The browser and system a User-Agent header names (parsed by bowser), each null when it does not. */
export function identifyBrowser(userAgent: string | null | undefined): { browser: string | null; os: string | null } | null {
  const header = userAgent?.trim().slice(0, maxUserAgentLength);
  if (!header) return null;
  const { browser, os } = Bowser.parse(header);
  return { browser: browser.name?.slice(0, 48) || null, os: os.name?.slice(0, 48) || null };
}

/**
 * "Chrome on Windows", "Safari on iOS": enough for someone to recognise their own device, from
 * the User-Agent header. The name a remembered browser is kept under (pages word a header in their
 * own language with the words of web/security-words.ts). Never longer than 100 characters.
 */
export function describeBrowser(userAgent: string | null | undefined): string {
  const found = identifyBrowser(userAgent);
  if (!found) return "Unknown browser";
  const name = found.browser ?? "A browser";
  return (found.os ? `${name} on ${found.os}` : name).slice(0, 100);
}
