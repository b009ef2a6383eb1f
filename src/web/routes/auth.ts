import { Router } from "express";
import { z } from "zod";
import type { AuditLog } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { HttpError } from "../../services/errors.js";
import type { LoginService } from "../../services/login.js";
import { emailField, parseForm, passwordField } from "../forms.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { destroySession, startUserSession } from "../session.js";

const loginForm = z.object({ email: emailField, password: passwordField, _csrf: z.string().optional() });

export const invalidLoginMessage =
  "The email address or password is not right. After several failed attempts an account is blocked for a few minutes.";

export function authRoutes({ login, audit, clock }: { login: LoginService; audit: AuditLog; clock: Clock }) {
  const router = Router();

  router.get("/login", (req, res) => {
    if (req.session.userId && req.session.stage === "complete") return res.redirect("/");
    const expired = req.sessionExpired || req.query.expired === "1";
    renderPage(res, "auth/login", {
      title: "Log in",
      email: "",
      error: null,
      notice: expired ? "Your session ended because it was inactive for a while. Please log in again." : null,
    });
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
    // A fresh session id for the signed-in user: the anonymous one is dead from here on.
    await startUserSession(req, result.user, "complete", clock);
    await login.recordLoginSuccess(result.user, requestContext(req), "password");
    res.redirect(303, "/");
  });

  router.post("/logout", async (req, res) => {
    const userId = req.session.userId;
    if (userId) {
      await audit.recordEvent({ type: "logout", actorUserId: userId, subjectUserId: userId }, requestContext(req));
    }
    await destroySession(req);
    res.set("Clear-Site-Data", '"cookies"');
    res.redirect(303, "/login");
  });

  return router;
}
