import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Config, Role } from "../../config.js";
import type { Clock } from "../../services/clock.js";
import { ForbiddenError } from "../../services/errors.js";
import { isSecondFactorRequired } from "../../services/policy.js";
import { includesSecondFactor, type MethodKind, type TwoFactorService } from "../../services/two-factor/index.js";
import type { User, UserService } from "../../services/users.js";
import { hasControlCharacter } from "../forms.js";
import { type Phrase, phrase } from "../i18n-helpers.js";
import { regenerateSession, restartWithNotice, type SessionStage, sessionCookieName } from "../session.js";
import { rememberPendingAction } from "../step-up.js";

declare global {
  namespace Express {
    interface Request {
      /** The signed-in user, loaded fresh from the database on every request. */
      user?: User;
      /** The kinds of second factor the signed-in user has set up, read with the user. */
      userFactors?: MethodKind[];
    }
  }
}

/**
 * The signed-in user's second factors, as the session guard read them with the session; asked of
 * the database only where no guard ran.
 */
export async function userFactorsOf(req: Request, twoFactor: Pick<TwoFactorService, "listEnrolledKinds">): Promise<MethodKind[]> {
  return req.userFactors ?? twoFactor.listEnrolledKinds(req.user!.id);
}

/** Where a session at each stage belongs. */
const stageHomes: Record<SessionStage, string> = { password: "/login/2fa", enrol: "/enrol", complete: "/" };

// What a session that is no longer valid at the second step or the enrolment hears at the login
// page, in the language of that page.
const endedNotices: Record<Exclude<SessionStage, "complete">, Phrase> = {
  password: phrase("twoFactor:login.attemptOver"),
  enrol: phrase("auth:notices.ended"),
};

/**
 * The one session guard: each router mounts `requireStage(...)` for the stage its pages belong
 * to. It loads the session's user once (read with the session itself, with their factors), checks
 * that the session was not revoked (its generation) and the account not disabled, then the stage.
 */
export function createGuards({ users, config }: { users: UserService; config: Config }) {
  async function endSession(req: Request, res: Response, stage: SessionStage) {
    if (stage === "complete") {
      await regenerateSession(req);
      return res.redirect("/login?ended=1");
    }
    await restartWithNotice(req, endedNotices[stage]);
    return res.redirect("/login");
  }

  function requireStage(stage: SessionStage): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction) => {
      res.set("Cache-Control", "no-store");
      const current = req.session;
      if (!current?.userId || !current.stage) {
        if (stage !== "complete") return res.redirect("/login");
        // A session cookie whose session is gone (ended by logout elsewhere, a reset, "sign out
        // everywhere else"): the login page says so. A visitor's own login-page session has a token.
        const hadSession = !!req.get("cookie")?.includes(`${sessionCookieName(config)}=`) && !current?.csrfToken;
        return res.redirect(req.sessionExpired ? "/login?expired=1" : hadSession ? "/login?ended=1" : "/login");
      }
      if (current.stage !== stage) return res.redirect(stageHomes[current.stage] ?? "/login");
      // Read with the session (one statement for both); a session started during this request is read here.
      const signedIn =
        req.sessionUser?.user.id === current.userId ? req.sessionUser : await users.findSignedInUser(current.userId);
      const user = signedIn?.user;
      const isRevoked = !!user && (current.generation ?? 0) !== user.sessionGeneration;
      if (!signedIn || !user || user.disabledAt || isRevoked) return endSession(req, res, stage);
      const hasSecondFactor = includesSecondFactor(signedIn.factors);
      if (stage === "enrol" && hasSecondFactor) {
        // This session may only set up the first factor: once the user has one (set up in another
        // session), it is over.
        return endSession(req, res, stage);
      }
      // A role that now requires a second factor (an admin changed it) takes effect at once.
      if (stage === "complete" && isSecondFactorRequired(user.role, config) && !hasSecondFactor) {
        current.stage = "enrol";
        return res.redirect("/enrol");
      }
      req.user = user;
      req.userFactors = signedIn.factors;
      if (stage !== "password") res.locals.user = user;
      if (stage === "enrol") res.locals.enrolling = true;
      // A password set by an admin must be replaced before anything else.
      if (stage === "complete" && user.mustChangePassword && !req.originalUrl.startsWith("/account/password"))
        return res.redirect("/account/password");
      next();
    };
  }

  function requireRole(...roles: Role[]): RequestHandler {
    return (req, _res, next) => {
      if (!req.user || !roles.includes(req.user.role)) return next(new ForbiddenError());
      next();
    };
  }

  return { requireStage, requireUser: requireStage("complete"), requireRole };
}

/** How long a password or second-factor check counts as "fresh" for changing security settings. */
export const stepUpWindowMs = 5 * 60_000;

/** A safe place to return to: a path on this site, never another origin. */
export function safeReturnPath(value: unknown, fallback = "/account/security"): string {
  return typeof value === "string" &&
    value.startsWith("/") &&
    !value.startsWith("//") &&
    !value.includes("\\") &&
    !hasControlCharacter(value)
    ? value
    : fallback;
}

/**
 * Security changes need a fresh authentication: after 5 minutes the user confirms their password
 * (and second factor) again. A POST is remembered, so the confirmation can finish it (when its
 * route knows how) or else goes back to the page that holds its form.
 */
export function requireRecentAuthentication(clock: Clock, returnPath?: string): RequestHandler {
  return async (req, res, next) => {
    const now = clock.now().getTime();
    const authenticatedAt = req.session.authenticatedAt ?? 0;
    if (now - authenticatedAt < stepUpWindowMs) return next();
    const back = req.method === "GET" ? req.originalUrl : (returnPath ?? "/account/security");
    let target = `/account/confirm?next=${encodeURIComponent(back)}`;
    if (req.method === "POST") {
      target += `&action=${rememberPendingAction(req, now).id}`;
    }
    res.redirect(303, target);
  };
}
