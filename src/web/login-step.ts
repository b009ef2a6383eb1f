import type { NextFunction, Request, Response } from "express";
import { choicesOf, findLoginChoice, loginChoices } from "../methods/page-list.js";
import type { Clock } from "../services/clock.js";
import type { LoginService } from "../services/login.js";
import type { LoginAttempt, MethodKind, TwoFactorService, VerifyResult } from "../services/two-factor/index.js";
import type { UserService } from "../services/users.js";
import { type Phrase, phrase } from "./i18n-helpers.js";
import { renderLockedOut, renderSendLimited } from "./limit-pages.js";
import { userFactorsOf } from "./middleware/guards.js";
import type { RememberedBrowserSteps } from "./remembered-browsers.js";
import type { FormError } from "./render.js";
import { requestContext } from "./request-context.js";
import { restartWithNotice, startUserSession } from "./session.js";

// The second step of a login, whatever the method: the check that a session may be on its pages,
// and what every method's pages do with an outcome (sign in, a wrong code, a lock, a pause).

export const attemptOverNotice = phrase("twoFactor:login.attemptOver");
export const voidedNotice = phrase("twoFactor:login.voided");
/** A login refused where it was to be approved (the method that can refuse says how). */
export const deniedMessage = phrase(
  loginChoices.find((choice) => choice.refusedNotice)?.refusedNotice ?? "twoFactor:login.refused",
);

declare global {
  namespace Express {
    interface Request {
      loginAttempt?: LoginAttempt;
    }
  }
}

export interface LoginStepDeps {
  users: UserService;
  twoFactor: TwoFactorService;
  login: LoginService;
  clock: Clock;
  rememberedBrowserSteps: RememberedBrowserSteps;
}

export type LoginStep = ReturnType<typeof createLoginStep>;

export function createLoginStep({ twoFactor, login, clock, rememberedBrowserSteps }: LoginStepDeps) {
  /**
   * Only a session that passed the password, with its own live login attempt, may be on the
   * second step's pages (the session guard has checked the stage and loaded the user). A login
   * approved or refused elsewhere (a key pressed on the phone) is finished on its method's page.
   */
  async function requireOpenAttempt(req: Request, res: Response, next: NextFunction) {
    const attempt = req.session.loginAttemptId ? await twoFactor.findAttempt(req.session.loginAttemptId) : null;
    const isOwn = attempt?.userId === req.user?.id;
    const isLive = attempt && (attempt.status !== "pending" || attempt.expiresAt > clock.now());
    const waitsForApproval = loginChoices.some(
      (choice) => choice.waitsForApproval && req.originalUrl.startsWith(`${choice.path}`),
    );
    const isUsable =
      attempt &&
      isOwn &&
      isLive &&
      (attempt.status === "pending" || (waitsForApproval && (attempt.status === "passed" || attempt.status === "denied")));
    if (!isUsable) {
      const notice =
        attempt?.status === "denied" ? deniedMessage : attempt?.status === "voided" ? voidedNotice : attemptOverNotice;
      await restartWithNotice(req, notice);
      return res.redirect("/login");
    }
    req.loginAttempt = attempt;
    res.locals.signOutOnly = true;
    rememberedBrowserSteps.offerCheckbox(req, res, req.user!);
    next();
  }

  /** Whether the user has this method; otherwise back to the choice. */
  async function requireEnrolled(req: Request, res: Response, kind: MethodKind): Promise<boolean> {
    if ((await userFactorsOf(req, twoFactor)).includes(kind)) return true;
    res.redirect(303, "/login/2fa");
    return false;
  }

  async function finishLogin(req: Request, res: Response, kind: MethodKind) {
    const user = req.user!;
    const returnTo = req.session.returnTo;
    await startUserSession(req, user, "complete", clock);
    await login.recordLoginSuccess(user, requestContext(req), kind);
    await rememberedBrowserSteps.rememberIfAsked(req, res, user);
    res.redirect(303, findLoginChoice(kind)?.landing ?? returnTo ?? "/");
  }

  /** The login is over: the page offers no way back into it, only the wait and the practice. */
  function showLoginLocked(res: Response, until: Date) {
    res.locals.signOutOnly = false;
    renderLockedOut(res, { until, now: clock.now(), back: { href: "/login", label: phrase("twoFactor:login.backToLogin") } });
  }

  /** Sending is paused: the page offers the user's methods that send nothing to the phone. */
  async function showSendLimited(req: Request, res: Response, retryAt: Date) {
    const kinds = await userFactorsOf(req, twoFactor);
    renderSendLimited(res, {
      retryAt,
      now: clock.now(),
      alternatives: choicesOf(kinds)
        .filter((choice) => !choice.usesPhone)
        .map((choice) => ({ href: choice.start.href, label: phrase(choice.label) })),
      back: { href: "/login/2fa", label: phrase("twoFactor:links.chooseAnother") },
    });
  }

  /** What a method's page does with the outcome of a response. */
  async function answerVerification(
    req: Request,
    res: Response,
    { kind, result }: { kind: MethodKind; result: VerifyResult },
    rerender: (error: FormError) => Promise<void> | void,
  ) {
    const choice = findLoginChoice(kind);
    switch (result.status) {
      case "passed":
        return finishLogin(req, res, result.method);
      case "malformed":
        return rerender({ field: "code", message: phrase(choice?.malformedMessage ?? "twoFactor:login.malformed") });
      case "replayed":
        return rerender({ field: "code", message: phrase(choice?.replayedMessage ?? "twoFactor:login.replayed") });
      case "wrong_code":
        return rerender({ field: "code", message: wrongCodeMessage(result.attemptsLeft, choice?.wrongCodeHint) });
      case "voided":
        await restartWithNotice(req, voidedNotice);
        return res.redirect(303, "/login");
      case "locked":
        await restartWithNotice(req, phrase("twoFactor:login.locked"));
        return showLoginLocked(res, result.until);
      case "invalid_attempt":
        await restartWithNotice(req, attemptOverNotice);
        return res.redirect(303, "/login");
    }
  }

  return { requireOpenAttempt, requireEnrolled, finishLogin, showLoginLocked, showSendLimited, answerVerification };
}

/** "That code is not right. 2 tries left.", and the method's hint after it (a key, or none). */
function wrongCodeMessage(attemptsLeft: number, hintKey: string | undefined): Phrase {
  return phrase("twoFactor:login.wrongCode", { count: attemptsLeft, hint: hintKey ? phrase(hintKey) : "" });
}
