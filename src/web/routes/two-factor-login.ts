import { type NextFunction, type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Clock } from "../../services/clock.js";
import type { LoginService } from "../../services/login.js";
import type { LoginAttempt, MethodKind, TwoFactorService, VerifyResult } from "../../services/two-factor/index.js";
import type { PhoneFactor, SendResult } from "../../services/two-factor/phone.js";
import { resendAfterSeconds } from "../../services/two-factor/phone.js";
import type { UserService } from "../../services/users.js";
import { malformedCodeMessages, replayedCodeMessage } from "../code-messages.js";
import { field, parseForm } from "../forms.js";
import { type PageLink, renderLockedOut, renderSendLimited } from "../limit-pages.js";
import type { RememberedBrowserSteps } from "../remembered-browsers.js";
import { type FormError, renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { restartWithNotice, startUserSession, takeNotice } from "../session.js";
import { formatClock } from "../view-helpers.js";

const codeForm = z.object({ code: field(64, "Code").trim().min(1, "Enter the code."), _csrf: z.string().optional() });

export const attemptOverNotice = "Your login was not finished in time or was stopped. Please log in again.";
export const voidedNotice = "Too many wrong codes. For your safety, please log in again with your password.";
export const deniedMessage =
  "This login was refused from your phone (9 was pressed), so nobody was logged in. If you did not try to log in, someone may know your password: log in with your password and your phone, change your password, and tell the practice.";

declare global {
  namespace Express {
    interface Request {
      loginAttempt?: LoginAttempt;
    }
  }
}

// What the call page says for each way a call can end without approval.
const callEndings: Record<string, string> = {
  "wrong-key": "A key other than 1 was pressed, so the login was not confirmed.",
  "no-answer": "The call was not answered.",
  busy: "The line was busy.",
  failed: "The call could not be made.",
  "hung-up": "The call ended before a key was pressed.",
  expired: "There was no answer within 2 minutes.",
  replaced: "A newer call replaced this one.",
  locked: "Two-step login for your account is locked after too many wrong codes, so pressing 1 did not confirm the login.",
};

/** The pages between the password and the signed-in portal: choose a method, then prove it. */
export function twoFactorLoginRoutes({
  users,
  twoFactor,
  login,
  phone,
  clock,
  rememberedBrowserSteps,
}: {
  users: UserService;
  twoFactor: TwoFactorService;
  login: LoginService;
  phone: PhoneFactor;
  clock: Clock;
  rememberedBrowserSteps: RememberedBrowserSteps;
}) {
  const router = Router();

  // Only a session that passed the password, with its own live login attempt, may be here.
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    res.set("Cache-Control", "no-store");
    if (req.session.stage === "complete") return res.redirect("/");
    if (req.session.stage !== "password" || !req.session.userId || !req.session.loginAttemptId) return res.redirect("/login");
    const attempt = await twoFactor.findAttempt(req.session.loginAttemptId);
    const user = attempt?.userId === req.session.userId ? await users.findUserById(attempt.userId) : null;
    const isLive = attempt && (attempt.status !== "pending" || attempt.expiresAt > clock.now());
    // A login approved or refused by phone is finished on the call page; anything else is over.
    const isCallPage = req.path.startsWith("/call");
    const isUsable =
      attempt &&
      isLive &&
      (attempt.status === "pending" || (isCallPage && (attempt.status === "passed" || attempt.status === "denied")));
    if (!attempt || !user || user.disabledAt || !isUsable) {
      const notice =
        attempt?.status === "denied" ? deniedMessage : attempt?.status === "voided" ? voidedNotice : attemptOverNotice;
      await restartWithNotice(req, notice);
      return res.redirect("/login");
    }
    req.user = user;
    req.loginAttempt = attempt;
    res.locals.signOutOnly = true;
    rememberedBrowserSteps.offerCheckbox(req, res, user);
    next();
  });

  router.get("/", async (req, res) => {
    const methods = await twoFactor.listEnrolledMethods(req.user!.id);
    const lockedUntil = await twoFactor.findLockedUntil(req.user!.id);
    const lastUsed = await twoFactor.findLastUsedMethod(req.user!.id);
    renderPage(res, "two-factor/choose", {
      title: "Second step",
      methods: methods.filter((method) => method.kind !== "recovery"),
      defaultKind:
        lastUsed?.kind ?? (methods.filter((method) => method.kind !== "recovery").length === 1 ? methods[0]!.kind : null),
      hasRecoveryCodes: methods.some((method) => method.kind === "recovery"),
      lockedUntil,
      notice: takeNotice(req),
    });
  });

  async function finishLogin(req: Request, res: Response, kind: MethodKind) {
    const user = req.user!;
    const returnTo = req.session.returnTo;
    await startUserSession(req, user, "complete", clock);
    await login.recordLoginSuccess(user, requestContext(req), kind);
    await rememberedBrowserSteps.rememberIfAsked(req, res, user);
    res.redirect(303, kind === "recovery" ? "/account/recovery-code-used" : (returnTo ?? "/"));
  }

  async function answerVerification(
    req: Request,
    res: Response,
    { kind, result, wrongCodeHint = "" }: { kind: MethodKind; result: VerifyResult; wrongCodeHint?: string },
    rerender: (error: FormError) => Promise<void> | void,
  ) {
    switch (result.status) {
      case "passed":
        return finishLogin(req, res, result.method);
      case "malformed":
        return rerender({ field: "code", message: malformedCodeMessages[kind] });
      case "replayed":
        return rerender({ field: "code", message: replayedCodeMessage });
      case "wrong_code":
        return rerender({
          field: "code",
          message: `That code is not right. ${result.attemptsLeft === 1 ? "1 try" : `${result.attemptsLeft} tries`} left.${wrongCodeHint}`,
        });
      case "voided":
        await restartWithNotice(req, voidedNotice);
        return res.redirect(303, "/login");
      case "locked":
        await restartWithNotice(req, "Two-step login for your account is locked for a while after too many wrong codes.");
        return showLoginLocked(res, result.until);
      case "invalid_attempt":
        await restartWithNotice(req, attemptOverNotice);
        return res.redirect(303, "/login");
    }
  }

  async function requireEnrolled(req: Request, res: Response, kind: MethodKind): Promise<boolean> {
    const method = twoFactor.findMethod(kind);
    if (method && (await method.isEnrolled(req.user!.id))) return true;
    res.redirect(303, "/login/2fa");
    return false;
  }

  // Methods where the user types what they got: the app's code, a recovery code.
  const typedMethods: { kind: MethodKind; path: string; view: string; title: string }[] = [
    { kind: "app", path: "/app", view: "two-factor/app-code", title: "Code from your app" },
    { kind: "recovery", path: "/recovery", view: "two-factor/recovery-code", title: "Recovery code" },
  ];

  for (const { kind, path, view, title } of typedMethods) {
    router.get(path, async (req, res) => {
      if (!(await requireEnrolled(req, res, kind))) return;
      renderPage(res, view, { title, error: null });
    });

    router.post(path, async (req, res) => {
      const parsed = parseForm(codeForm, req.body);
      if (!parsed.ok) return renderPage(res, view, { title, error: parsed.formError }, 400);
      const result = await twoFactor.verifyLoginResponse(
        { userId: req.user!.id, attemptId: req.session.loginAttemptId, kind, response: parsed.data.code },
        requestContext(req),
      );
      await answerVerification(req, res, { kind, result }, (error) => renderPage(res, view, { title, error }, 400));
    });
  }

  // ---- SMS ----

  /** The login is over: the page offers no way back into it, only the wait and the practice. */
  function showLoginLocked(res: Response, until: Date) {
    res.locals.signOutOnly = false;
    renderLockedOut(res, { until, now: clock.now(), back: { href: "/login", label: "Back to the login page" } });
  }

  /** The ways in that need no phone, for a page that says sending is paused. */
  async function listPhonelessMethods(userId: number): Promise<PageLink[]> {
    const kinds = (await twoFactor.listEnrolledMethods(userId)).map((method) => method.kind);
    const links: PageLink[] = [];
    if (kinds.includes("app")) links.push({ href: "/login/2fa/app", label: "With an authenticator app" });
    if (kinds.includes("recovery")) links.push({ href: "/login/2fa/recovery", label: "Use a recovery code" });
    return links;
  }

  async function showSendLimited(req: Request, res: Response, retryAt: Date) {
    renderSendLimited(res, {
      retryAt,
      now: clock.now(),
      alternatives: await listPhonelessMethods(req.user!.id),
      back: { href: "/login/2fa", label: "Choose another method" },
    });
  }

  function describeSendProblem(result: SendResult): { status: number; message: string } | null {
    if (result.status === "failed") return { status: 502, message: result.message };
    return null;
  }

  async function renderSmsPage(req: Request, res: Response, error: FormError | string | null = null, status = 200) {
    const user = req.user!;
    const challenge = await phone.findLatestChallenge(user.id, req.loginAttempt!.id, "sms");
    const verified = await phone.findVerifiedPhone(user.id);
    const now = clock.now();
    const resendAt = challenge ? new Date(challenge.createdAt.getTime() + resendAfterSeconds * 1000) : now;
    const undelivered = challenge && ["undelivered", "failed"].includes(challenge.deliveryStatus ?? "");
    renderPage(
      res,
      "two-factor/sms-code",
      {
        title: "Code by SMS",
        error:
          error ??
          (undelivered
            ? "Your phone company reports that the SMS could not be delivered. You can ask for a phone call instead."
            : null),
        notice: takeNotice(req),
        masked: verified?.masked ?? "",
        hasCode: challenge !== null && challenge.status === "pending" && challenge.expiresAt > now,
        offerCall: Boolean(undelivered),
        secondsUntilResend: Math.max(0, Math.ceil((resendAt.getTime() - now.getTime()) / 1000)),
        scripts: ["/public/js/resend-countdown.js"],
      },
      status,
    );
  }

  router.post("/sms/send", async (req, res) => {
    if (!(await requireEnrolled(req, res, "sms"))) return;
    const isResend = (await phone.findLatestChallenge(req.user!.id, req.loginAttempt!.id, "sms")) !== null;
    const result = await phone.sendLoginCode(req.user!.id, req.loginAttempt!.id, requestContext(req));
    if (result.status === "locked") return showLoginLocked(res, result.until);
    if (result.status === "rate_limited") return showSendLimited(req, res, result.retryAt);
    const problem = describeSendProblem(result);
    if (problem)
      return renderSmsPage(req, res, `${problem.message} You can also use a phone call, or another method.`, problem.status);
    if (result.status === "too_soon") req.session.notice = "A new code can be sent 30 seconds after the previous one.";
    // A new code must say that it went out, and that the one before no longer works.
    if (result.status === "sent" && isResend) {
      const masked = (await phone.findVerifiedPhone(req.user!.id))?.masked ?? "your phone";
      req.session.notice = `We sent a new code to ${masked} at ${formatClock(result.challenge.createdAt)}. Only the newest code works.`;
    }
    res.redirect(303, "/login/2fa/sms");
  });

  router.get("/sms", async (req, res) => {
    if (!(await requireEnrolled(req, res, "sms"))) return;
    await renderSmsPage(req, res);
  });

  router.post("/sms", async (req, res) => {
    const parsed = parseForm(codeForm, req.body);
    if (!parsed.ok) return renderSmsPage(req, res, parsed.formError, 400);
    const result = await twoFactor.verifyLoginResponse(
      { userId: req.user!.id, attemptId: req.session.loginAttemptId, kind: "sms", response: parsed.data.code },
      requestContext(req),
    );
    await answerVerification(
      req,
      res,
      { kind: "sms", result, wrongCodeHint: " A code works once, for 5 minutes, and only the newest code counts." },
      (error) => renderSmsPage(req, res, error, 400),
    );
  });

  // ---- Phone call ----

  /** Where the call for this login stands, as the call page and its script see it. */
  async function findCallState(req: Request): Promise<{ state: string; challengeExists: boolean }> {
    const attempt = req.loginAttempt!;
    if (attempt.status === "passed") return { state: "approved", challengeExists: true };
    if (attempt.status === "denied") return { state: "denied", challengeExists: true };
    const challenge = await phone.findLatestChallenge(req.user!.id, attempt.id, "call");
    if (!challenge) return { state: "none", challengeExists: false };
    if (challenge.status === "pending" && challenge.expiresAt <= clock.now()) return { state: "expired", challengeExists: true };
    // Only a passed attempt is approved: a call whose 1 is still being turned into a pass is
    // waiting, one the lock refused says so.
    const isWaiting = challenge.status === "pending" || challenge.status === "approved";
    return { state: isWaiting ? "calling" : challenge.status, challengeExists: true };
  }

  router.post("/call/start", async (req, res) => {
    if (!(await requireEnrolled(req, res, "call"))) return;
    if (req.loginAttempt!.status !== "pending") return res.redirect(303, "/login/2fa/call");
    const result = await phone.startLoginCall(req.user!.id, req.loginAttempt!.id, requestContext(req));
    if (result.status === "locked") return showLoginLocked(res, result.until);
    if (result.status === "rate_limited") return showSendLimited(req, res, result.retryAt);
    const problem = describeSendProblem(result);
    if (problem) {
      req.session.notice = `${problem.message}`;
      return res.redirect(303, "/login/2fa");
    }
    res.redirect(303, "/login/2fa/call");
  });

  router.get("/call", async (req, res) => {
    if (!(await requireEnrolled(req, res, "call"))) return;
    const { state } = await findCallState(req);
    const verified = await phone.findVerifiedPhone(req.user!.id);
    renderPage(res, "two-factor/call", {
      title: "Confirm by phone call",
      notice: takeNotice(req),
      state,
      masked: verified?.masked ?? "",
      ending: callEndings[state] ?? null,
      deniedMessage,
      scripts: state === "calling" ? ["/public/js/call-wait.js"] : [],
    });
  });

  router.get("/call/status", async (req, res) => {
    const { state } = await findCallState(req);
    res.json({ state });
  });

  router.post("/call/continue", async (req, res) => {
    const { state } = await findCallState(req);
    if (state === "approved") return finishLogin(req, res, "call");
    if (state === "denied") {
      await restartWithNotice(req, deniedMessage);
      return res.redirect(303, "/login");
    }
    if (state === "calling") {
      req.session.notice =
        "No 1 has been received from your phone yet. Answer the call and press 1: this page moves on by itself once you did.";
    }
    res.redirect(303, "/login/2fa/call");
  });

  return router;
}
