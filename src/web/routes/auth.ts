import { type Request, Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { AuditLog } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { HttpError } from "../../services/errors.js";
import type { LoginService } from "../../services/login.js";
import { isSecondFactorRequired } from "../../services/policy.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import { emailField, parseForm, passwordField } from "../forms.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { destroySession, saveSession, startUserSession, takeNotice } from "../session.js";

const loginForm = z.object({ email: emailField, password: passwordField, _csrf: z.string().optional() });

export const invalidLoginMessage =
  "The email address or password is not right. After several failed attempts an account is blocked for a few minutes.";

/** Why the visitor is on the login page, when they did not come of their own accord. */
function loginPageNotice(req: Request): string | null {
  if (req.sessionExpired || req.query.expired === "1")
    return "Your session ended because it was inactive for a while. Please log in again.";
  if (req.query.ended === "1") return "Your session has ended. Please log in again.";
  if (req.query.signed_out === "1") return "You are logged out.";
  return null;
}

export function authRoutes({
  login,
  audit,
  twoFactor,
  config,
  clock,
}: {
  login: LoginService;
  audit: AuditLog;
  twoFactor: TwoFactorService;
  config: Config;
  clock: Clock;
}) {
  const router = Router();

  router.get("/login", (req, res) => {
    if (req.session.userId && req.session.stage === "complete") return res.redirect("/");
    renderPage(res, "auth/login", { title: "Log in", email: "", error: null, notice: takeNotice(req) ?? loginPageNotice(req) });
  });

  router.post("/login", async (req, res) => {
    const parsed = parseForm(loginForm, req.body);
    const email = typeof req.body?.email === "string" ? req.body.email.slice(0, 254) : "";
    if (!parsed.ok) {
      return renderPage(res, "auth/login", { title: "Log in", email, error: parsed.error, notice: null }, 400);
    }
    const result = await login.logInWithPassword(parsed.data.email, parsed.data.password, requestContext(req));
    if (!result.ok && result.reason === "rate_limited") {
      throw new HttpError(429, "There were too many failed logins from your network. For your safety, logging in is paused.", {
        retryAt: result.retryAt,
      });
    }
    if (!result.ok) {
      return renderPage(res, "auth/login", { title: "Log in", email, error: invalidLoginMessage, notice: null }, 401);
    }
    const user = result.user;
    // A fresh session id from here on: the anonymous one is dead.
    if (await twoFactor.hasSecondFactor(user.id)) {
      await startUserSession(req, user, "password", clock);
      req.session.loginAttemptId = await twoFactor.beginLoginAttempt(user.id);
      // Stored before the redirect: the browser asks for /login/2fa as soon as the headers arrive.
      await saveSession(req);
      await audit.recordEvent(
        { type: "login.password_accepted", actorUserId: user.id, subjectUserId: user.id },
        requestContext(req),
      );
      return res.redirect(303, "/login/2fa");
    }
    if (isSecondFactorRequired(user.role, config)) {
      await startUserSession(req, user, "enrol", clock);
      await audit.recordEvent(
        { type: "login.enrolment_required", actorUserId: user.id, subjectUserId: user.id },
        requestContext(req),
      );
      return res.redirect(303, "/enrol");
    }
    await startUserSession(req, user, "complete", clock);
    await login.recordLoginSuccess(user, requestContext(req), "password");
    res.redirect(303, "/");
  });

  router.post("/logout", async (req, res) => {
    const userId = req.session.userId;
    if (userId) {
      await audit.recordEvent({ type: "logout", actorUserId: userId, subjectUserId: userId }, requestContext(req));
    }
    await destroySession(req);
    res.set("Clear-Site-Data", '"cookies"');
    res.redirect(303, "/login?signed_out=1");
  });

  return router;
}
