import { type Request, type RequestHandler, type Response, Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { AuditLog } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { HttpError } from "../../services/errors.js";
import type { LoginService } from "../../services/login.js";
import { isSecondFactorRequired } from "../../services/policy.js";
import type { SecurityOverviews } from "../../services/security-overview.js";
import type { SessionService } from "../../services/sessions.js";
import type { MethodKind, TwoFactorService } from "../../services/two-factor/index.js";
import type { PhoneFactor } from "../../services/two-factor/phone.js";
import type { RecoveryCodes } from "../../services/two-factor/recovery-codes.js";
import type { TotpFactor } from "../../services/two-factor/totp.js";
import type { User, UserService } from "../../services/users.js";
import { malformedCodeMessages, replayedCodeMessage } from "../code-messages.js";
import { field, parseForm, passwordField } from "../forms.js";
import { renderLockedOut, renderSendLimited } from "../limit-pages.js";
import { requireRecentAuthentication, safeReturnPath } from "../middleware/guards.js";
import { describePasswordChangeRefusal } from "../password-words.js";
import type { RememberedBrowserSteps } from "../remembered-browsers.js";
import { type FormError, renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { describeBrowser, describeSecurityEvent } from "../security-words.js";
import { saveSession, takeNotice } from "../session.js";
import { findPendingAction, takePendingAction } from "../step-up.js";
import { formatClock, formatIp } from "../view-helpers.js";
import { appEnrolmentRoutes, readNewRecoveryCodes, renderNewRecoveryCodes, showNewRecoveryCodes } from "./app-enrolment.js";
import { markBusy, passwordChecksBusyMessage } from "./auth.js";
import { phoneEnrolmentRoutes } from "./phone-enrolment.js";

const confirmForm = z.object({
  password: passwordField(),
  code: field(64, "Code").trim().optional(),
  method: field(20, "Where the code comes from").optional(),
  next: field(500, "Return address").optional(),
  action: field(40, "Action").optional(),
  _csrf: z.string().optional(),
});

const passwordForm = z.object({
  current: field(1024, "Current password").min(1, "Enter your current password."),
  password: field(1024, "New password").min(1, "Enter a new password."),
  repeat: field(1024, "New password again"),
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
  rememberedBrowserSteps: RememberedBrowserSteps;
  securityOverviews: SecurityOverviews;
}

// Steps inside one login, which "Logged in (…)" already tells.
const hiddenSecurityEvents = ["2fa.code_accepted", "login.password_accepted", "2fa.challenge_sent"];

// Methods that can confirm a security change: what the user can type, plus SMS.
const confirmKinds: MethodKind[] = ["app", "sms", "recovery"];

/** Which second method to suggest as a back-up to a user with exactly one. */
async function findBackupSuggestion({ twoFactor }: Pick<AccountDeps, "twoFactor">, user: User) {
  const kinds = (await twoFactor.listEnrolledMethods(user.id)).map((method) => method.kind);
  return backupSuggestionFor(kinds.includes("app"), kinds.includes("sms"));
}

function backupSuggestionFor(hasApp: boolean, hasPhone: boolean): { href: string; words: string; why: string } | null {
  if (hasApp && !hasPhone)
    return { href: "/account/2fa/phone", words: "Add your phone as a back-up", why: "so you can still log in without the app." };
  if (hasPhone && !hasApp)
    return {
      href: "/account/2fa/app",
      words: "Add an authenticator app as a back-up",
      why: "so you can still log in without mobile reception.",
    };
  return null;
}

/** A security action that the confirmation of who the user is can finish right away. */
interface ResumableAction {
  /** What the confirmation page says it will do: "create a new set of recovery codes". */
  words: string;
  run(req: Request, res: Response): Promise<void>;
}

/** New recovery codes can be shown again (a reload) for this long, until the user saved them. */
const newCodesShownForMs = 30 * 60_000;

/** The signed-in user's own security settings. Mounted behind requireUser. */
export function accountRoutes(deps: AccountDeps) {
  const {
    config,
    clock,
    audit,
    users,
    sessions,
    twoFactor,
    recoveryCodes,
    phone,
    login,
    rememberedBrowserSteps,
    securityOverviews,
  } = deps;
  const router = Router();
  const resumableActions: Record<string, ResumableAction> = {};
  const stepUp = requireRecentAuthentication(clock);

  /**
   * After a password or factor change: the user's other sessions end, so do the other browsers
   * that skip the second step (one remembered with a factor now replaced must not outlive it),
   * and their phone hears of it, so that someone who changed it behind their back is noticed.
   */
  async function afterSecurityChange(req: Request, user: User, what: string) {
    await endOtherSessions(req, user);
    await rememberedBrowserSteps.forgetOtherBrowsers(req, user, "second_factor_changed");
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
    const overview = await securityOverviews.findSecurityOverview(user.id, {
      eventLimit: 20,
      hiddenEventTypes: hiddenSecurityEvents,
    });
    const { appEnrolledAt, phone: verifiedPhone, lastLoginMethod, events } = overview;
    renderPage(res, "account/security", {
      title: "Security settings",
      notice: takeNotice(req),
      app: appEnrolledAt ? { enrolledAt: appEnrolledAt } : null,
      phone: verifiedPhone,
      backupSuggestion: backupSuggestionFor(!!appEnrolledAt, !!verifiedPhone),
      recoveryCodesLeft: overview.recoveryCodesLeft,
      hasSecondFactor: !!appEnrolledAt || !!verifiedPhone,
      defaultMethod: lastLoginMethod ? twoFactor.findMethod(lastLoginMethod) : null,
      // The last factor of a user who must have one cannot be removed.
      canRemoveLastFactor: !isSecondFactorRequired(user.role, config) || (!!appEnrolledAt && !!verifiedPhone),
      otherSessions: Math.max(0, overview.sessionCount - 1),
      remembered: rememberedBrowserSteps.describeForSecurityPage(req, user, overview.rememberedBrowsers),
      events: events.map((event) => ({
        at: event.occurredAt,
        what: describeSecurityEvent(event),
        ip: formatIp(event.ip),
        browser: describeBrowser(event.userAgent),
      })),
    });
  });

  // ---- Step-up: the password and, when the user has one, the second factor again ----

  async function confirmMethods(userId: number) {
    return (await twoFactor.listEnrolledMethods(userId)).filter((method) => confirmKinds.includes(method.kind));
  }

  async function renderConfirm(
    req: Request,
    res: Response,
    next: string,
    error: FormError | string | null,
    status = 200,
    actionId: unknown = req.body?.action,
  ) {
    const methods = await confirmMethods(req.user!.id);
    const pending = findPendingAction(req, actionId, clock.now().getTime());
    const resumable = pending ? resumableActions[pending.path] : undefined;
    renderPage(
      res,
      "account/confirm",
      {
        title: "Confirm it is you",
        methods,
        next,
        action: resumable ? pending!.id : null,
        actionWords: resumable?.words ?? null,
        error,
        notice: takeNotice(req),
        scripts: ["/public/js/confirm-method.js"],
      },
      status,
    );
  }

  router.get("/confirm", (req, res) => renderConfirm(req, res, safeReturnPath(req.query.next), null, 200, req.query.action));

  router.post("/confirm/sms", async (req, res) => {
    const user = req.user!;
    const next = safeReturnPath(req.body?.next);
    // The code is bound to an attempt of its own, so it is counted and expires like a login code;
    // a resend keeps that attempt and its count of wrong codes.
    const open = await twoFactor.findOpenAttempt(req.session.stepUpAttemptId, user.id);
    if (!open) req.session.stepUpAttemptId = await twoFactor.beginLoginAttempt(user.id);
    const result = await phone.sendLoginCode(user.id, req.session.stepUpAttemptId!, requestContext(req));
    if (result.status === "locked")
      return renderLockedOut(res, {
        until: result.until,
        now: clock.now(),
        back: { href: "/account/security", label: "Back to security settings" },
      });
    if (result.status === "rate_limited") {
      const others = (await confirmMethods(user.id)).filter((method) => method.kind !== "sms");
      return renderSendLimited(res, {
        retryAt: result.retryAt,
        now: clock.now(),
        alternativesHeading: "Confirm another way now",
        alternatives: others.length
          ? [
              {
                href: `/account/confirm?next=${encodeURIComponent(next)}`,
                label: `Confirm with ${others.map((method) => (method.kind === "app" ? "your authenticator app" : "a recovery code")).join(" or ")}`,
              },
            ]
          : [],
        back: { href: "/account/security", label: "Back to security settings" },
      });
    }
    if (result.status === "failed") return renderConfirm(req, res, next, result.message, 502);
    // The confirmation page keeps naming the action it will finish.
    const action = typeof req.body?.action === "string" ? `&action=${encodeURIComponent(req.body.action.slice(0, 40))}` : "";
    req.session.notice =
      result.status === "too_soon"
        ? "A new code can be sent 30 seconds after the previous one. Use the code you received."
        : `We sent a code to ${(await phone.findVerifiedPhone(user.id))?.masked ?? "your phone"} at ${formatClock(result.challenge.createdAt)}. Type it below with your password.`;
    res.redirect(303, `/account/confirm?next=${encodeURIComponent(next)}${action}`);
  });

  router.post("/confirm", async (req, res) => {
    const user = req.user!;
    const methods = await confirmMethods(user.id);
    const parsed = parseForm(confirmForm, req.body);
    const next = safeReturnPath(parsed.ok ? parsed.data.next : undefined);
    if (!parsed.ok) return renderConfirm(req, res, next, parsed.formError, 400);
    const passwordCheck = await login.checkPasswordLimited(user, parsed.data.password);
    if (passwordCheck === "busy") return renderConfirm(req, res, next, passwordChecksBusyMessage, markBusy(res));
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
        { field: "password", message: "That password is not right. After several wrong passwords you must wait a few minutes." },
        401,
      );
    }
    if (methods.length > 0) {
      const kind = (methods.find((method) => method.kind === parsed.data.method) ?? methods[0]!).kind;
      if (!parsed.data.code) return renderConfirm(req, res, next, { field: "code", message: "Enter the code as well." }, 400);
      const result =
        kind === "sms"
          ? await twoFactor.verifyLoginResponse(
              { userId: user.id, attemptId: req.session.stepUpAttemptId, kind, response: parsed.data.code },
              requestContext(req),
            )
          : await twoFactor.verifyFreshResponse({ userId: user.id, kind, response: parsed.data.code }, requestContext(req));
      if (result.status === "locked")
        return renderLockedOut(res, {
          until: result.until,
          now: clock.now(),
          back: { href: "/account/security", label: "Back to security settings" },
        });
      if (result.status === "malformed")
        return renderConfirm(req, res, next, { field: "code", message: malformedCodeMessages[kind] }, 400);
      if (result.status === "replayed")
        return renderConfirm(req, res, next, { field: "code", message: replayedCodeMessage }, 400);
      if (result.status !== "passed") {
        const hint = kind === "sms" ? " Ask for a new SMS code if it has expired." : "";
        return renderConfirm(req, res, next, { field: "code", message: `That code is not right.${hint}` }, 400);
      }
    }
    delete req.session.stepUpAttemptId;
    req.session.authenticatedAt = clock.now().getTime();
    const pending = takePendingAction(req, parsed.data.action, clock.now().getTime());
    await saveSession(req);
    await audit.recordEvent({ type: "stepup.passed", actorUserId: user.id, subjectUserId: user.id }, requestContext(req));
    // The action that asked for the confirmation is finished now, not offered again.
    const resume = pending ? resumableActions[pending.path] : undefined;
    if (resume) return resume.run(req, res);
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
    const again = (field: string | null, message: string, status = 400) =>
      renderPage(
        res,
        "account/password",
        { title: "Change your password", error: { field, message }, forced: user.mustChangePassword },
        status,
      );
    const parsed = parseForm(passwordForm, req.body);
    if (!parsed.ok) return again(parsed.field, parsed.error);
    const passwordCheck = await login.checkPasswordLimited(user, parsed.data.current);
    if (passwordCheck === "busy") return again("current", passwordChecksBusyMessage, markBusy(res));
    if (passwordCheck !== "ok") {
      return again(
        "current",
        "Your current password is not right. After several wrong passwords you must wait a few minutes.",
        401,
      );
    }
    if (parsed.data.password !== parsed.data.repeat) return again("repeat", "The two new passwords are not the same.");
    const result = await users.changePassword(user, parsed.data.password, requestContext(req));
    if (!result.ok) return again("password", describePasswordChangeRefusal(result));
    await afterSecurityChange(req, user, "your password was changed.");
    req.session.notice = "Your password was changed. You were signed out everywhere else.";
    res.redirect(303, "/account/security");
  });

  // ---- Sessions ----

  router.post("/sessions/end-others", async (req, res) => {
    const user = req.user!;
    const ended = await endOtherSessions(req, user);
    await rememberedBrowserSteps.forgetOtherBrowsers(req, user);
    await audit.recordEvent(
      { type: "sessions.ended_others", actorUserId: user.id, subjectUserId: user.id, details: { count: ended } },
      requestContext(req),
    );
    req.session.notice = ended === 1 ? "1 other session was signed out." : `${ended} other sessions were signed out.`;
    res.redirect(303, "/account/security");
  });

  // ---- Second factors ----

  // Where the invitation leads: the same choice a doctor gets at enrolment.
  router.get("/2fa", (_req, res) => {
    renderPage(res, "account/choose-method", { title: "Turn on two-step login" });
  });

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

  async function removeApp(req: Request, res: Response) {
    await removeFactor(req, "app");
    req.session.notice = "The authenticator app was removed from your account.";
    res.redirect(303, "/account/security");
  }

  async function removePhone(req: Request, res: Response) {
    await removeFactor(req, "sms");
    req.session.notice = "Your phone number was removed: SMS and phone calls are no longer used to log in.";
    res.redirect(303, "/account/security");
  }

  router.post("/2fa/app/remove", stepUp, removeApp);
  router.post("/2fa/phone/remove", stepUp, removePhone);

  router.use(
    "/2fa/phone",
    stepUp,
    phoneEnrolmentRoutes(deps, {
      basePath: "/account/2fa/phone",
      // The phone route itself warns the number it replaced; the new number needs no notice.
      onEnrolled: async (req) => {
        await endOtherSessions(req, req.user!);
        await rememberedBrowserSteps.forgetOtherBrowsers(req, req.user!, "second_factor_changed");
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

  async function regenerateCodes(req: Request, res: Response) {
    const user = req.user!;
    if (!(await twoFactor.hasSecondFactor(user.id))) return res.redirect(303, "/account/security");
    const codes = await recoveryCodes.regenerateRecoveryCodes(user.id);
    await audit.recordEvent(
      { type: "2fa.recovery_codes_regenerated", actorUserId: user.id, subjectUserId: user.id },
      requestContext(req),
    );
    await showNewRecoveryCodes(req, res, { codes, now: clock.now().getTime(), continueTo: "/account/security", config });
  }

  router.post("/recovery-codes", requireRecentAuthentication(clock, "/account/recovery-codes"), regenerateCodes);

  // The new codes, shown by a GET (a reload shows them again) until the user says they saved them.
  router.get("/recovery-codes/new", (req, res) => {
    const fresh = req.session.newRecoveryCodes;
    const codes = readNewRecoveryCodes(req, config);
    if (!fresh || !codes || clock.now().getTime() - fresh.createdAt > newCodesShownForMs)
      return res.redirect(303, "/account/recovery-codes");
    renderNewRecoveryCodes(res, req.user!, codes, config.portalName);
  });

  router.post("/recovery-codes/saved", async (req, res) => {
    const continueTo = req.session.newRecoveryCodes?.continueTo ?? "/account/security";
    delete req.session.newRecoveryCodes;
    req.session.notice = `Two-step login is on. Keep your recovery codes somewhere safe.${await suggestSecondMethod(req.user!)}`;
    res.redirect(303, continueTo);
  });

  /** After the first method, a second one as a back-up (the security page offers it too). */
  async function suggestSecondMethod(user: User): Promise<string> {
    const suggestion = await findBackupSuggestion(deps, user);
    return suggestion ? ` ${suggestion.words} in your security settings, ${suggestion.why}` : "";
  }

  // POSTs that a confirmation of who the user is can finish at once (see requireRecentAuthentication).
  Object.assign(resumableActions, {
    "/account/recovery-codes": { words: "create a new set of recovery codes", run: regenerateCodes },
    "/account/2fa/app/remove": { words: "remove the authenticator app", run: removeApp },
    "/account/2fa/phone/remove": { words: "remove your phone number", run: removePhone },
  } satisfies Record<string, ResumableAction>);

  router.post("/2fa/invitation/dismiss", (req, res) => {
    req.session.twoFactorInviteDismissed = true;
    res.redirect(303, "/");
  });

  return router;
}
