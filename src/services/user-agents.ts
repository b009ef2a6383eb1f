import Bowser from "bowser";

/** Longer headers than this are not parsed: nothing a real browser sends is near it. */
const maxUserAgentLength = 512;

/**
 * "Chrome on Windows", "Safari on iOS": enough for someone to recognise their own device, from
 * the User-Agent header (parsed by bowser). Never longer than 100 characters.
 */
export function describeBrowser(userAgent: string | null | undefined): string {
  const header = userAgent?.trim().slice(0, maxUserAgentLength);
  if (!header) return "Unknown browser";
  const { browser, os } = Bowser.parse(header);
  const name = browser.name || "A browser";
  return (os.name ? `${name} on ${os.name}` : name).slice(0, 100);
}
