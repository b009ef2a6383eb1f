import { csrfSync } from "csrf-sync";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config } from "../../config.js";
import { HttpError } from "../../services/errors.js";

// Synchronizer tokens kept in the session (csrf-sync; csurf is archived). Forms send `_csrf`.
const { csrfSynchronisedProtection, generateToken } = csrfSync({
  getTokenFromRequest: (req) => (typeof req.body?._csrf === "string" ? req.body._csrf : undefined),
  errorConfig: {
    statusCode: 403,
    message: "This form has expired or did not come from this site. Go back, reload the page and try again.",
    code: "EBADCSRFTOKEN",
  },
});

export const csrfProtection: RequestHandler = csrfSynchronisedProtection;

/** For views: the current session's token, created when a form first needs it. */
export function provideCsrfToken(req: Request, res: Response, next: NextFunction) {
  res.locals.csrfToken = () => generateToken(req);
  next();
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
    next(new HttpError(403, "This form did not come from this site, so it was not accepted."));
  };
}
