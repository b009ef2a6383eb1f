import { createHmac, timingSafeEqual } from "node:crypto";
import { parse as parseCookies } from "cookie";
import { csrfSync } from "csrf-sync";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../../config.js";
import { HttpError } from "../../services/errors.js";

/**
 * Synchronizer tokens (csrf-sync; csurf is archived). Forms send `_csrf`. A signed-in session
 * (or one on its way there) keeps its token server-side. A visitor who has only opened the login
 * page has no stored session, so as not to write a row per visit: their token lives in an
 * HttpOnly, SameSite cookie (`__Host-` in production) and the login form must echo it — a
 * double-submit that another site can neither read nor set, behind the Origin check below. The
 * cookie carries an HMAC of the token under SESSION_SECRET, so a value the portal did not issue
 * (an empty one, one planted by another means) is never taken as a token.
 */
export function createCsrfProtection(config: Config) {
  const cookieName = config.isProduction ? "__Host-portal.csrf" : "portal.csrf";
  const isSignedIn = (req: Request) => typeof req.session?.userId === "number";
  // A visitor's token set during this request: every form on the page carries the same one.
  const issuedNow = new WeakMap<Request, string>();
  const signatureOf = (token: string) =>
    createHmac("sha256", config.sessionSecret).update(`visitor-csrf:${token}`).digest("base64url");
  function visitorTokenFrom(req: Request): string | undefined {
    const [token = "", signature = ""] = (parseCookies(req.get("cookie") ?? "")[cookieName] ?? "").split(".");
    if (!/^[0-9a-f]{256}$/.test(token)) return undefined;
    const expected = Buffer.from(signatureOf(token));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected) ? token : undefined;
  }

  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (typeof req.body?._csrf === "string" ? req.body._csrf : undefined),
    getTokenFromState: (req) => {
      if (isSignedIn(req)) return req.session.csrfToken;
      return issuedNow.get(req) ?? visitorTokenFrom(req);
    },
    storeTokenInState: (req, token) => {
      if (isSignedIn(req)) {
        req.session.csrfToken = token;
        return;
      }
      if (token) issuedNow.set(req, token);
      else issuedNow.delete(req);
      req.res?.cookie(cookieName, token ? `${token}.${signatureOf(token)}` : "", {
        httpOnly: true,
        sameSite: "lax",
        secure: config.isProduction,
        path: "/",
        ...(token ? {} : { maxAge: 0 }),
      });
    },
    errorConfig: {
      statusCode: 403,
      message: "This form has expired or did not come from this site. Go back, reload the page and try again.",
      code: "EBADCSRFTOKEN",
    },
  });

  /** For views: the token of this session (or visitor), created when a form first needs it. */
  function provideCsrfToken(req: Request, res: Response, next: NextFunction) {
    res.locals.csrfToken = () => generateToken(req);
    next();
  }

  return { csrfProtection: csrfSynchronisedProtection as RequestHandler, provideCsrfToken };
}

const unsafeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function originOf(value: string | undefined): string | null {
  if (!value) return null;
  try {
    return new URL(value).origin;
  } catch {
    return "invalid";
  }
}

/**
 * A second line behind the token: a state-changing request whose Origin (or, failing that,
 * Referer) names another site is refused.
 */
export function checkOrigin(config: Config): RequestHandler {
  const publicOrigin = new URL(config.publicBaseUrl).origin;
  return (req, _res, next) => {
    if (!unsafeMethods.has(req.method)) return next();
    const origin = originOf(req.get("origin")) ?? originOf(req.get("referer"));
    if (origin === null) return next();
    const ownOrigin = `${req.protocol}://${req.get("host")}`;
    if (origin === publicOrigin || origin === ownOrigin) return next();
    next(new HttpError(403, { key: "errors:messages.foreignOrigin" }));
  };
}
