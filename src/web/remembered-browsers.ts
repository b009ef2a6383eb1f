import { parse as parseCookies } from "cookie";
import type { Request, Response } from "express";
import type { Config } from "../config.js";
import type { Clock } from "../services/clock.js";
import type { LoginService } from "../services/login.js";
import {
  type BrowserKey,
  browserTokenPattern,
  mayRememberBrowsers,
  type RememberedBrowser,
  type RememberedBrowsers,
} from "../services/remembered-browsers.js";
import type { User } from "../services/users.js";
import { languageCookieName } from "./language.js";
import { requestContext } from "./request-context.js";
import { sessionCookieName, startUserSession } from "./session.js";

// The HTTP side of "don't ask again on this browser". One cookie holds the keys of every user
// remembered on this browser, as "id.token" pairs joined by "~", newest last: a second user
// remembered on the same browser is added beside the first instead of replacing it, and the
// cookie keeps a fixed bound (the 5 newest), so it never grows past a few hundred bytes. One
// cookie rather than one per user: a per-user name would tell anyone who looks at the browser's
// cookies which accounts were used there, and would need its own bound.

/** The most users one browser remembers; a sixth pushes out the oldest. */
export const maxRememberedUsers = 5;
/** Longer than 5 pairs can be: anything bigger is not ours, and is not parsed. */
const maxCookieLength = maxRememberedUsers * 60;
const checkboxField = "remember_browser";

export function rememberCookieName(config: Pick<Config, "isProduction">): string {
  // __Host- makes the browser insist on Secure, Path=/ and no Domain.
  return config.isProduction ? "__Host-portal.remember" : "portal.remember";
}

export function rememberCookieOptions(config: Pick<Config, "isProduction" | "rememberBrowserDays">) {
  return {
    httpOnly: true,
    sameSite: "lax" as const,
    secure: config.isProduction,
    path: "/",
    maxAge: config.rememberBrowserDays * 24 * 60 * 60_000,
  };
}

/** The keys the browser sent, newest last; malformed pairs are left out. */
export function parseBrowserKeys(value: string | undefined): BrowserKey[] {
  if (!value || value.length > maxCookieLength) return [];
  return value
    .split("~")
    .slice(-maxRememberedUsers)
    .flatMap((pair) => {
      const [id = "", token = "", ...rest] = pair.split(".");
      return /^\d{1,15}$/.test(id) && browserTokenPattern.test(token) && rest.length === 0 ? [{ id: Number(id), token }] : [];
    });
}

export function formatBrowserKeys(keys: BrowserKey[]): string {
  return keys
    .slice(-maxRememberedUsers)
    .map((key) => `${key.id}.${key.token}`)
    .join("~");
}

export type RememberedBrowserSteps = ReturnType<typeof createRememberedBrowserSteps>;

export function createRememberedBrowserSteps({
  config,
  clock,
  login,
  rememberedBrowsers,
}: {
  config: Config;
  clock: Clock;
  login: LoginService;
  rememberedBrowsers: RememberedBrowsers;
}) {
  const cookieName = rememberCookieName(config);

  function readBrowserKeys(req: Request): BrowserKey[] {
    return parseBrowserKeys(parseCookies(req.get("cookie") ?? "")[cookieName]);
  }

  function writeBrowserKeys(res: Response, keys: BrowserKey[]) {
    const { maxAge: _maxAge, ...attributes } = rememberCookieOptions(config);
    if (keys.length === 0) res.clearCookie(cookieName, attributes);
    else res.cookie(cookieName, formatBrowserKeys(keys), rememberCookieOptions(config));
  }

  /** For a second-step page: the checkbox, when the user's role may be remembered. */
  function offerCheckbox(req: Request, res: Response, user: User) {
    if (!mayRememberBrowsers(user.role, config)) return;
    res.locals.rememberBrowserDays = config.rememberBrowserDays;
    // A page shown again after a wrong code keeps the box as the user left it.
    res.locals.rememberBrowserChecked = req.body?.[checkboxField] === "yes";
  }

  /** At the end of a passed second step: remembers this browser when the box was ticked. */
  async function rememberIfAsked(req: Request, res: Response, user: User) {
    if (req.body?.[checkboxField] !== "yes") return;
    const outcome = await rememberedBrowsers.rememberBrowser(user, requestContext(req));
    if (outcome.status !== "remembered") return;
    writeBrowserKeys(res, [...readBrowserKeys(req), outcome.key]);
  }

  /**
   * After a right password: when this browser is remembered for the user, the login completes
   * without the second step. Returns whether it did (the caller then redirects).
   */
  async function completeRememberedLogin(req: Request, user: User): Promise<boolean> {
    const check = await rememberedBrowsers.checkRememberedBrowser(user, readBrowserKeys(req));
    if (check.status !== "remembered") return false;
    // The password was proven just now, the second factor was not: a security change must ask
    // for both again (requireRecentAuthentication reads this time), however recent the login.
    await startUserSession(req, user, "complete", clock, { authenticatedAt: 0 });
    await login.recordLoginSuccess(user, requestContext(req), "remembered_browser", {
      browserId: check.browser.id,
      browser: check.browser.description,
    });
    return true;
  }

  /** "Sign out everywhere else": the user's other remembered browsers go, this one stays. */
  async function forgetOtherBrowsers(
    req: Request,
    user: User,
    reason: "signed_out_elsewhere" | "second_factor_changed" = "signed_out_elsewhere",
  ) {
    await rememberedBrowsers.forgetBrowsers(user.id, reason, requestContext(req), {
      keepIds: readBrowserKeys(req).map((key) => key.id),
    });
  }

  /** Takes forgotten browsers out of this browser's cookie. */
  function dropBrowserKeys(req: Request, res: Response, ids: number[]) {
    const keys = readBrowserKeys(req);
    const kept = keys.filter((key) => !ids.includes(key.id));
    if (kept.length !== keys.length) writeBrowserKeys(res, kept);
  }

  /** The user's remembered browsers for the security page, with the one in use here marked. */
  /** The security page's part, from the browsers the security overview read. */
  function describeForSecurityPage(req: Request, user: User, remembered: RememberedBrowser[]) {
    const here = new Set(readBrowserKeys(req).map((key) => key.id));
    const browsers = rememberedBrowsers.usableBrowsers(remembered).map((browser) => ({
      ...browser,
      isThisBrowser: here.has(browser.id),
    }));
    return { isOffered: mayRememberBrowsers(user.role, config), days: config.rememberBrowserDays, browsers };
  }

  /**
   * At logout. Clear-Site-Data "cookies" would also wipe the remember cookie and the language
   * cookie, which are meant to outlive a logout; with either present, the session cookie is
   * expired by name instead.
   */
  function clearCookiesAtLogout(req: Request, res: Response) {
    const hasLanguageChoice = parseCookies(req.get("cookie") ?? "")[languageCookieName] !== undefined;
    if (readBrowserKeys(req).length === 0 && !hasLanguageChoice) {
      res.set("Clear-Site-Data", '"cookies"');
      return;
    }
    res.set("Clear-Site-Data", '"cache", "storage"');
    res.clearCookie(sessionCookieName(config), { httpOnly: true, sameSite: "lax", secure: config.isProduction, path: "/" });
  }

  return {
    offerCheckbox,
    rememberIfAsked,
    completeRememberedLogin,
    forgetOtherBrowsers,
    dropBrowserKeys,
    describeForSecurityPage,
    clearCookiesAtLogout,
    readBrowserKeys,
  };
}
