import { type Request, type Response, Router } from "express";
import type { Clock } from "../../services/clock.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import { parseForm } from "../../web/forms.js";
import { type Phrase, phrase } from "../../web/i18n-helpers.js";
import type { LoginStep } from "../../web/login-step.js";
import { type FormError, renderPage } from "../../web/render.js";
import { requestContext } from "../../web/request-context.js";
import { restartWithNotice, setNotice, takeNotice } from "../../web/session.js";
import { codeForm } from "../../web/typed-code-pages.js";
import { formatClock, localeOf } from "../../web/view-helpers.js";
import { phoneFailureKey, refusedOnPhoneNotice } from "./pages.js";
import { type PhoneFactor, resendAfterSeconds, type SendResult } from "./phone.js";

export interface PhoneLoginDeps {
  twoFactor: TwoFactorService;
  phone: PhoneFactor;
  clock: Clock;
  loginStep: LoginStep;
}

/** /login/2fa/sms: a code sent by SMS for this login, typed back. */
export function smsLoginRoutes({ twoFactor, phone, clock, loginStep }: PhoneLoginDeps) {
  const router = Router();

  async function renderSmsPage(req: Request, res: Response, error: FormError | Phrase | null = null, status = 200) {
    const user = req.user!;
    const challenge = await phone.findLatestChallenge(user.id, req.loginAttempt!.id, "sms");
    const verified = await phone.findVerifiedPhone(user.id);
    const now = clock.now();
    const resendAt = challenge ? new Date(challenge.createdAt.getTime() + resendAfterSeconds * 1000) : now;
    const undelivered = challenge && ["undelivered", "failed"].includes(challenge.deliveryStatus ?? "");
    renderPage(
      res,
      "methods/phone/sms-login",
      {
        title: phrase("methods:phone.smsLogin.title"),
        error: error ?? (undelivered ? phrase("methods:phone.smsLogin.undelivered") : null),
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

  router.post("/send", async (req, res) => {
    if (!(await loginStep.requireEnrolled(req, res, "sms"))) return;
    const isResend = (await phone.findLatestChallenge(req.user!.id, req.loginAttempt!.id, "sms")) !== null;
    const result: SendResult = await phone.sendLoginCode(req.user!.id, req.loginAttempt!.id, requestContext(req));
    if (result.status === "locked") return loginStep.showLoginLocked(res, result.until);
    if (result.status === "rate_limited") return loginStep.showSendLimited(req, res, result.retryAt);
    if (result.status === "failed")
      return renderSmsPage(
        req,
        res,
        phrase("methods:phone.smsLogin.sendFailed", { reason: phrase(phoneFailureKey(result.reason, "sms")) }),
        502,
      );
    if (result.status === "too_soon") setNotice(req, "methods:phone.smsLogin.tooSoon");
    // A new code must say that it went out, and that the one before no longer works.
    if (result.status === "sent" && isResend) {
      const masked = (await phone.findVerifiedPhone(req.user!.id))?.masked;
      setNotice(req, "methods:phone.smsLogin.resent", {
        number: masked ?? phrase("methods:phone.smsLogin.yourPhone"),
        // The time as this page's language writes it; the notice is shown on the next page.
        time: formatClock(result.challenge.createdAt, localeOf(req)),
      });
    }
    res.redirect(303, "/login/2fa/sms");
  });

  router.get("/", async (req, res) => {
    if (!(await loginStep.requireEnrolled(req, res, "sms"))) return;
    await renderSmsPage(req, res);
  });

  router.post("/", async (req, res) => {
    const parsed = parseForm(codeForm, req.body);
    if (!parsed.ok) return renderSmsPage(req, res, parsed.formError, 400);
    const result = await twoFactor.verifyLoginResponse(
      { userId: req.user!.id, attemptId: req.session.loginAttemptId, kind: "sms", response: parsed.data.code },
      requestContext(req),
    );
    await loginStep.answerVerification(req, res, { kind: "sms", result }, (error) => renderSmsPage(req, res, error, 400));
  });

  return router;
}

// What the call page says for each way a call can end without approval (the keys of its words).
const callEndings = new Set(["wrong-key", "no-answer", "busy", "failed", "hung-up", "expired", "replaced", "locked"]);

/** /login/2fa/call: a call to the user's phone; pressing 1 approves the login. */
export function callLoginRoutes({ phone, clock, loginStep }: PhoneLoginDeps) {
  const router = Router();

  /** Where the call for this login stands, as the call page and its script see it. */
  async function findCallState(req: Request): Promise<string> {
    const attempt = req.loginAttempt!;
    if (attempt.status === "passed") return "approved";
    if (attempt.status === "denied") return "denied";
    const challenge = await phone.findLatestChallenge(req.user!.id, attempt.id, "call");
    if (!challenge) return "none";
    if (challenge.status === "pending" && challenge.expiresAt <= clock.now()) return "expired";
    // Only a passed attempt is approved: a call whose 1 is still being turned into a pass is
    // waiting, one the lock refused says so.
    const isWaiting = challenge.status === "pending" || challenge.status === "approved";
    return isWaiting ? "calling" : challenge.status;
  }

  router.post("/start", async (req, res) => {
    if (!(await loginStep.requireEnrolled(req, res, "call"))) return;
    if (req.loginAttempt!.status !== "pending") return res.redirect(303, "/login/2fa/call");
    const result = await phone.startLoginCall(req.user!.id, req.loginAttempt!.id, requestContext(req));
    if (result.status === "locked") return loginStep.showLoginLocked(res, result.until);
    if (result.status === "rate_limited") return loginStep.showSendLimited(req, res, result.retryAt);
    if (result.status === "failed") {
      setNotice(req, phoneFailureKey(result.reason, "call"));
      return res.redirect(303, "/login/2fa");
    }
    res.redirect(303, "/login/2fa/call");
  });

  router.get("/", async (req, res) => {
    if (!(await loginStep.requireEnrolled(req, res, "call"))) return;
    const state = await findCallState(req);
    const verified = await phone.findVerifiedPhone(req.user!.id);
    renderPage(res, "methods/phone/call-login", {
      title: phrase("methods:phone.callLogin.title"),
      notice: takeNotice(req),
      state,
      masked: verified?.masked ?? "",
      ending: callEndings.has(state) ? `methods:phone.callLogin.endings.${state}` : null,
      scripts: state === "calling" ? ["/public/js/call-wait.js"] : [],
    });
  });

  router.get("/status", async (req, res) => {
    res.json({ state: await findCallState(req) });
  });

  router.post("/continue", async (req, res) => {
    const state = await findCallState(req);
    if (state === "approved") return loginStep.finishLogin(req, res, "call");
    if (state === "denied") {
      await restartWithNotice(req, phrase(refusedOnPhoneNotice));
      return res.redirect(303, "/login");
    }
    if (state === "calling") {
      setNotice(req, "methods:phone.callLogin.notYet");
    }
    res.redirect(303, "/login/2fa/call");
  });

  return router;
}
