import { type Request, type RequestHandler, type Response, Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { AuditLog } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { HttpError } from "../../services/errors.js";
import type { LoginService } from "../../services/login.js";
import { isSecondFactorRequired } from "../../services/policy.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import type { UserLocales } from "../../services/user-locale.js";
import { emailField, field, parseForm, passwordField } from "../forms.js";
import { type Phrase, phrase } from "../i18n-helpers.js";
import { safeReturnPath } from "../middleware/guards.js";
import type { RememberedBrowserSteps } from "../remembered-browsers.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { destroySession, startUserSession, takeNotice } from "../session.js";

const loginForm = z.object({
  email: emailField,
  password: passwordField(),
  next: field(500, phrase("forms:labels.returnAddress")).optional(),
  _csrf: z.string().optional(),
});

const invalidLogin = phrase("auth:login.invalid");

/** The portal is too busy to check a password now (see services/password-checks.ts). */
export const passwordChecksBusy: Phrase = phrase("auth:busy");

/** The answer when the password checks are full (see services/password-checks.ts): 503 with Retry-After. */
export function markBusy(res: Response): number {
  res.set("Retry-After", "5");
  return 503;
}

const addressBlocked = phrase("auth:addressBlocked");

/**
 * Mounted for POST /login before the session middleware: a login from a blocked address gets the
 * 429 page without a session being read, a password checked or an audit row written (the block
 * counts it). The page says when to try again.
 */
export function refuseBlockedLogins({ login }: { login: LoginService }): RequestHandler {
  return async (req, _res, next) => {
    const context = requestContext(req);
    const retryAt = await login.refuseBlockedAddress(context.clientKey ?? context.ip ?? "unknown");
    next(retryAt ? new HttpError(429, addressBlocked, { retryAt }) : undefined);
  };
}

/** Why the visitor is on the login page, when they did not come of their own accord. */
function loginPageNotice(req: Request): Phrase | null {
  if (req.sessionExpired || req.query.expired === "1") return phrase("auth:notices.expired");
  if (req.query.ended === "1") return phrase("auth:notices.ended");
  if (req.query.signed_out === "1") return phrase("auth:notices.signedOut");
  return null;
}

const loginTitle = phrase("auth:login.title");

export function authRoutes({
  login,
  audit,
  twoFactor,
  config,
  clock,
  rememberedBrowserSteps,
  userLocales,
}: {
  login: LoginService;
  audit: AuditLog;
  twoFactor: TwoFactorService;
  config: Config;
  clock: Clock;
  rememberedBrowserSteps: RememberedBrowserSteps;
  userLocales: UserLocales;
}) {
  const router = Router();

  router.get("/login", (req, res) => {
    if (req.session.userId && req.session.stage === "complete") return res.redirect("/");
    renderPage(res, "auth/login", {
      title: loginTitle,
      email: "",
      error: null,
      next: safeReturnPath(req.query.next, ""),
      notice: takeNotice(req) ?? loginPageNotice(req),
    });
  });

  router.post("/login", async (req, res) => {
    const parsed = parseForm(loginForm, req.body);
    const email = typeof req.body?.email === "string" ? req.body.email.slice(0, 254) : "";
    // Where the user was going: a page of this portal, kept through the second step and enrolment.
    const next = safeReturnPath(req.body?.next, "");
    if (!parsed.ok) {
      return renderPage(res, "auth/login", { title: loginTitle, email, next, error: parsed.formError, notice: null }, 400);
    }
    const result = await login.logInWithPassword(parsed.data.email, parsed.data.password, requestContext(req));
    if (!result.ok && result.reason === "rate_limited") {
      throw new HttpError(429, addressBlocked, { retryAt: result.retryAt });
    }
    if (!result.ok && result.reason === "busy") {
      const status = markBusy(res);
      return renderPage(res, "auth/login", { title: loginTitle, email, next, error: passwordChecksBusy, notice: null }, status);
    }
    if (!result.ok) {
      return renderPage(
        res,
        "auth/login",
        {
          title: loginTitle,
          email,
          next,
          error: { field: "password", message: invalidLogin },
          credentialsRefused: true,
          notice: null,
        },
        401,
      );
    }
    const user = result.user;
    // A fresh session id from here on: the anonymous one is dead.
    if (await twoFactor.hasSecondFactor(user.id)) {
      // A browser remembered for this user ("don't ask again") replaces the second step.
      if (await rememberedBrowserSteps.completeRememberedLogin(req, user)) return res.redirect(303, next || "/");
      const loginAttemptId = await twoFactor.beginLoginAttempt(user.id);
      await startUserSession(req, user, "password", clock, next ? { loginAttemptId, returnTo: next } : { loginAttemptId });
      await audit.recordEvent(
        { type: "login.password_accepted", actorUserId: user.id, subjectUserId: user.id },
        requestContext(req),
      );
      return res.redirect(303, "/login/2fa");
    }
    if (isSecondFactorRequired(user.role, config)) {
      await startUserSession(req, user, "enrol", clock, next ? { returnTo: next } : {});
      const context = requestContext(req);
      if (context.locale) await userLocales.keepFirstUserLocale(user.id, context.locale);
      await audit.recordEvent({ type: "login.enrolment_required", actorUserId: user.id, subjectUserId: user.id }, context);
      return res.redirect(303, "/enrol");
    }
    await startUserSession(req, user, "complete", clock);
    await login.recordLoginSuccess(user, requestContext(req), "password");
    res.redirect(303, next || "/");
  });

  router.post("/logout", async (req, res) => {
    const userId = req.session.userId;
    if (userId) {
      await audit.recordEvent({ type: "logout", actorUserId: userId, subjectUserId: userId }, requestContext(req));
    }
    await destroySession(req);
    rememberedBrowserSteps.clearCookiesAtLogout(req, res);
    res.redirect(303, "/login?signed_out=1");
  });

  return router;
}
