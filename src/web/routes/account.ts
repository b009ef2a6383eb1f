import { type Request, type RequestHandler, type Response, Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { AuditLog } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { HttpError } from "../../services/errors.js";
import type { LoginService } from "../../services/login.js";
import { isSecondFactorRequired } from "../../services/policy.js";
import type { SessionService } from "../../services/sessions.js";
import type { MethodKind, TwoFactorService } from "../../services/two-factor/index.js";
import type { PhoneFactor } from "../../services/two-factor/phone.js";
import type { RecoveryCodes } from "../../services/two-factor/recovery-codes.js";
import type { TotpFactor } from "../../services/two-factor/totp.js";
import type { User, UserService } from "../../services/users.js";
import { malformedCodeMessages, replayedCodeMessage, twoFactorLockedError } from "../code-messages.js";
import { field, parseForm, passwordField } from "../forms.js";
import { requireRecentAuthentication, safeReturnPath } from "../middleware/guards.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { describeBrowser, describeSecurityEvent } from "../security-words.js";
import { saveSession, takeNotice } from "../session.js";
import { appEnrolmentRoutes, renderNewRecoveryCodes } from "./app-enrolment.js";
import { phoneEnrolmentRoutes } from "./phone-enrolment.js";

const confirmForm = z.object({
  password: passwordField,
  code: field(64).trim().optional(),
  method: field(20).optional(),
  next: field(500).optional(),
  _csrf: z.string().optional(),
});

const passwordForm = z.object({
  current: passwordField,
  password: field(1024).min(1, "Enter a new password."),
  repeat: field(1024),
  _csrf: z.string().optional(),
});

export interface AccountDeps {
  config: Config;
  login: LoginService;
  clock: Clock;
  audit: AuditLog;
  users: UserService;
  sessions: SessionService;
  totp: TotpFactor;
  phone: PhoneFactor;
  twoFactor: TwoFactorService;
  recoveryCodes: RecoveryCodes;
}

// Steps inside one login, which "Logged in (…)" already tells.
const hiddenSecurityEvents = ["2fa.code_accepted", "login.password_accepted", "2fa.challenge_sent"];

// Methods that can confirm a security change: what the user can type, plus SMS.
const confirmKinds: MethodKind[] = ["app", "sms", "recovery"];

/** The signed-in user's own security settings. Mounted behind requireUser. */
export function accountRoutes(deps: AccountDeps) {
  const { config, clock, audit, users, sessions, totp, twoFactor, recoveryCodes, phone, login } = deps;
  const router = Router();
  const stepUp = requireRecentAuthentication(clock);

  /**
   * After a password or factor change: the user's other sessions end, and their phone hears of it,
   * so that someone who changed it behind their back is noticed.
   */
  async function afterSecurityChange(req: Request, user: User, what: string) {
    await endOtherSessions(req, user);
    const verified = await phone.findVerifiedPhone(user.id);
    if (verified) await phone.sendSecurityNotice(verified.phone, `${what} If you did not do this, contact the practice.`);
  }

  async function endOtherSessions(req: Request, user: User): Promise<number> {
    const { count, generation } = await sessions.invalidateUserSessions(user.id, req.sessionID);
    // This session stays valid: it moves to the new generation.
    req.session.generation = generation;
    return count;
  }

  router.get("/security", async (req, res) => {
    const user = req.user!;
    const factors = (await twoFactor.listEnrolledMethods(user.id)).filter((method) => method.kind !== "recovery");
    const events = await audit.listEventsForUser(user.id, 20, hiddenSecurityEvents);
    renderPage(res, "account/security", {
      title: "Security settings",
      notice: takeNotice(req),
      app: await totp.findEnrolledApp(user.id),
      phone: await phone.findVerifiedPhone(user.id),
      recoveryCodesLeft: await recoveryCodes.countRemainingCodes(user.id),
      hasSecondFactor: factors.length > 0,
      defaultMethod: await twoFactor.findLastUsedMethod(user.id),
      // The last factor of a user who must have one cannot be removed.
      canRemoveLastFactor:
        !isSecondFactorRequired(user.role, config) || new Set(factors.map((f) => (f.kind === "app" ? "app" : "phone"))).size > 1,
      otherSessions: Math.max(0, (await sessions.countUserSessions(user.id)) - 1),
      events: events.map((event) => ({
        at: event.occurredAt,
        what: describeSecurityEvent(event),
        ip: event.ip ?? "—",
        browser: describeBrowser(event.userAgent),
      })),
    });
  });

  // ---- Step-up: the password and, when the user has one, the second factor again ----

  async function confirmMethods(userId: number) {
    return (await twoFactor.listEnrolledMethods(userId)).filter((method) => confirmKinds.includes(method.kind));
  }

  async function renderConfirm(req: Request, res: Response, next: string, error: string | null, status = 200) {
    const methods = await confirmMethods(req.user!.id);
    renderPage(res, "account/confirm", { title: "Confirm it is you", methods, next, error, notice: takeNotice(req) }, status);
  }

  router.get("/confirm", (req, res) => renderConfirm(req, res, safeReturnPath(req.query.next), null));

  router.post("/confirm/sms", async (req, res) => {
    const user = req.user!;
    const next = safeReturnPath(req.body?.next);
    // The code is bound to an attempt of its own, so it is counted and expires like a login code;
    // a resend keeps that attempt and its count of wrong codes.
    const open = await twoFactor.findOpenAttempt(req.session.stepUpAttemptId, user.id);
    if (!open) req.session.stepUpAttemptId = await twoFactor.beginLoginAttempt(user.id);
    const result = await phone.sendLoginCode(user.id, req.session.stepUpAttemptId!, requestContext(req));
    if (result.status === "locked") throw twoFactorLockedError(result.until);
    if (result.status === "rate_limited")
      throw new HttpError(429, "Too many codes were sent. For your safety, sending is paused.", { retryAt: result.retryAt });
    if (result.status === "failed") return renderConfirm(req, res, next, result.message, 502);
    if (result.status === "too_soon") {
      req.session.notice = "A new code can be sent 30 seconds after the previous one. Use the code you received.";
      return res.redirect(303, `/account/confirm?next=${encodeURIComponent(next)}`);
    }
    req.session.notice = "We sent a code by SMS. Type it below with your password.";
    res.redirect(303, `/account/confirm?next=${encodeURIComponent(next)}`);
  });

  router.post("/confirm", async (req, res) => {
    const user = req.user!;
    const methods = await confirmMethods(user.id);
    const parsed = parseForm(confirmForm, req.body);
    const next = safeReturnPath(parsed.ok ? parsed.data.next : undefined);
    if (!parsed.ok) return renderConfirm(req, res, next, parsed.error, 400);
    const passwordCheck = await login.checkPasswordLimited(user, parsed.data.password);
    if (passwordCheck !== "ok") {
      await audit.recordEvent(
        {
          type: "stepup.failed",
          actorUserId: user.id,
          subjectUserId: user.id,
          details: { reason: passwordCheck === "blocked" ? "blocked" : "password" },
        },
        requestContext(req),
      );
      // Wrong passwords here count like wrong passwords at login, with the same waiting time.
      return renderConfirm(
        req,
        res,
        next,
        "That password is not right. After several wrong passwords you must wait a few minutes.",
        401,
      );
    }
    if (methods.length > 0) {
      const kind = (methods.find((method) => method.kind === parsed.data.method) ?? methods[0]!).kind;
      if (!parsed.data.code) return renderConfirm(req, res, next, "Enter the code as well.", 400);
      const result =
        kind === "sms"
          ? await twoFactor.verifyLoginResponse(
              { userId: user.id, attemptId: req.session.stepUpAttemptId, kind, response: parsed.data.code },
              requestContext(req),
            )
          : await twoFactor.verifyFreshResponse({ userId: user.id, kind, response: parsed.data.code }, requestContext(req));
      if (result.status === "locked") throw twoFactorLockedError(result.until);
      if (result.status === "malformed") return renderConfirm(req, res, next, malformedCodeMessages[kind], 400);
      if (result.status === "replayed") return renderConfirm(req, res, next, replayedCodeMessage, 400);
      if (result.status !== "passed") {
        const hint = kind === "sms" ? " Ask for a new SMS code if it has expired." : "";
        return renderConfirm(req, res, next, `That code is not right.${hint}`, 400);
      }
    }
    delete req.session.stepUpAttemptId;
    req.session.authenticatedAt = clock.now().getTime();
    await saveSession(req);
    await audit.recordEvent({ type: "stepup.passed", actorUserId: user.id, subjectUserId: user.id }, requestContext(req));
    res.redirect(303, next);
  });

  // ---- Password ----

  // A password set by an admin must be replaced before anything else, whenever in the session: the
  // login asked for it, and the form asks for it again. A step-up would send the user to
  // /account/confirm, which requireUser keeps closed until the password is changed.
  const stepUpUnlessForced = (returnPath?: string): RequestHandler => {
    const check = requireRecentAuthentication(clock, returnPath);
    return (req, res, next) => (req.user!.mustChangePassword ? next() : check(req, res, next));
  };

  router.get("/password", stepUpUnlessForced(), (req, res) => {
    renderPage(res, "account/password", {
      title: "Change your password",
      error: null,
      forced: req.user!.mustChangePassword,
      notice: takeNotice(req),
    });
  });

  router.post("/password", stepUpUnlessForced("/account/password"), async (req, res) => {
    const user = req.user!;
    const again = (error: string, status = 400) =>
      renderPage(res, "account/password", { title: "Change your password", error, forced: user.mustChangePassword }, status);
    const parsed = parseForm(passwordForm, req.body);
    if (!parsed.ok) return again(parsed.error);
    if ((await login.checkPasswordLimited(user, parsed.data.current)) !== "ok") {
      return again("Your current password is not right. After several wrong passwords you must wait a few minutes.", 401);
    }
    if (parsed.data.password !== parsed.data.repeat) return again("The two new passwords are not the same.");
    const result = await users.changePassword(user, parsed.data.password, requestContext(req));
    if (!result.ok) return again(result.error);
    await afterSecurityChange(req, user, "your password was changed.");
    req.session.notice = "Your password was changed. You were signed out everywhere else.";
    res.redirect(303, "/account/security");
  });

  // ---- Sessions ----

  router.post("/sessions/end-others", async (req, res) => {
    const user = req.user!;
    const ended = await endOtherSessions(req, user);
    await audit.recordEvent(
      { type: "sessions.ended_others", actorUserId: user.id, subjectUserId: user.id, details: { count: ended } },
      requestContext(req),
    );
    req.session.notice = ended === 1 ? "1 other session was signed out." : `${ended} other sessions were signed out.`;
    res.redirect(303, "/account/security");
  });

  // ---- Second factors ----

  const enrolledHere = (what: string) => async (req: Request) => afterSecurityChange(req, req.user!, what);

  router.use(
    "/2fa/app",
    stepUp,
    appEnrolmentRoutes(deps, {
      basePath: "/account/2fa/app",
      onEnrolled: enrolledHere("an authenticator app was set up for your two-step login."),
    }),
  );

  /**
   * Removes one factor (the phone covers SMS and call). The last factor of a user who must have
   * one cannot go; when nothing is left, the recovery codes go too.
   */
  async function removeFactor(req: Request, kind: "app" | "sms") {
    const user = req.user!;
    const factors = (await twoFactor.listEnrolledMethods(user.id)).filter((method) => method.kind !== "recovery");
    const remaining = factors.filter((method) => (kind === "app" ? method.kind !== "app" : method.kind === "app"));
    if (remaining.length === 0 && isSecondFactorRequired(user.role, config)) {
      throw new HttpError(
        403,
        "Your role requires two-step login, so you cannot remove your last method. Add another method first.",
      );
    }
    // Warned before the removal, so that a removed phone still hears of it.
    await afterSecurityChange(
      req,
      user,
      kind === "app"
        ? "the authenticator app was removed from your two-step login."
        : "your phone number was removed from your two-step login.",
    );
    await twoFactor.removeMethod(user.id, kind, requestContext(req));
    if (remaining.length === 0) await twoFactor.removeMethod(user.id, "recovery", requestContext(req));
  }

  router.post("/2fa/app/remove", stepUp, async (req, res) => {
    await removeFactor(req, "app");
    req.session.notice = "The authenticator app was removed from your account.";
    res.redirect(303, "/account/security");
  });

  router.post("/2fa/phone/remove", stepUp, async (req, res) => {
    await removeFactor(req, "sms");
    req.session.notice = "Your phone number was removed: SMS and phone calls are no longer used to log in.";
    res.redirect(303, "/account/security");
  });

  router.use(
    "/2fa/phone",
    stepUp,
    phoneEnrolmentRoutes(deps, {
      basePath: "/account/2fa/phone",
      // The phone route itself warns the number it replaced; the new number needs no notice.
      onEnrolled: async (req) => {
        await endOtherSessions(req, req.user!);
      },
    }),
  );

  // ---- Recovery codes ----

  // Where a login with a recovery code lands: how many are left, and a nudge when few are.
  router.get("/recovery-code-used", async (req, res) => {
    renderPage(res, "two-factor/recovery-used", {
      title: "Recovery code used",
      remaining: await recoveryCodes.countRemainingCodes(req.user!.id),
    });
  });

  router.get("/recovery-codes", async (req, res) => {
    renderPage(res, "account/recovery-codes", {
      title: "Recovery codes",
      remaining: await recoveryCodes.countRemainingCodes(req.user!.id),
      hasSecondFactor: await twoFactor.hasSecondFactor(req.user!.id),
    });
  });

  router.post("/recovery-codes", requireRecentAuthentication(clock, "/account/recovery-codes"), async (req, res) => {
    const user = req.user!;
    if (!(await twoFactor.hasSecondFactor(user.id))) return res.redirect(303, "/account/security");
    const codes = await recoveryCodes.regenerateRecoveryCodes(user.id);
    await audit.recordEvent(
      { type: "2fa.recovery_codes_regenerated", actorUserId: user.id, subjectUserId: user.id },
      requestContext(req),
    );
    renderNewRecoveryCodes(res, user, codes, config.portalName);
  });

  router.post("/recovery-codes/saved", async (req, res) => {
    req.session.notice = "Two-step login is on. Keep your recovery codes somewhere safe.";
    await saveSession(req);
    res.redirect(303, "/account/security");
  });

  router.post("/2fa/invitation/dismiss", (req, res) => {
    req.session.twoFactorInviteDismissed = true;
    res.redirect(303, "/");
  });

  return router;
}
