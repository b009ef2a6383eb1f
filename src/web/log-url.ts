/** A request URL as it may be logged: no query string, and webhook tokens replaced. */
export function urlForLog(url: string): string {
  return url.replace(/(\/webhooks\/twilio\/[a-z-]+\/)[^/?]+/, "$1[token]").split("?")[0] ?? "";
}
