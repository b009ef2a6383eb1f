import { type Request, Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { AuditLog } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { HttpError } from "../../services/errors.js";
import { verifyPassword } from "../../services/passwords.js";
import { isSecondFactorRequired } from "../../services/policy.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import type { PhoneFactor } from "../../services/two-factor/phone.js";
import type { RecoveryCodes } from "../../services/two-factor/recovery-codes.js";
import type { TotpFactor } from "../../services/two-factor/totp.js";
import type { User } from "../../services/users.js";
import { field, parseForm, passwordField } from "../forms.js";
import { requireRecentAuthentication, safeReturnPath } from "../middleware/guards.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
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

export interface AccountDeps {
  config: Config;
  phone: PhoneFactor;
  clock: Clock;
  audit: AuditLog;
  totp: TotpFactor;
  twoFactor: TwoFactorService;
  recoveryCodes: RecoveryCodes;
}

/** The signed-in user's own security settings. Mounted behind requireUser. */
export function accountRoutes(deps: AccountDeps) {
  const { config, clock, audit, totp, twoFactor, recoveryCodes, phone } = deps;
  const router = Router();
  const stepUp = requireRecentAuthentication(clock);

  router.get("/security", async (req, res) => {
    const user = req.user!;
    const factors = (await twoFactor.listEnrolledMethods(user.id)).filter((method) => method.kind !== "recovery");
    renderPage(res, "account/security", {
      title: "Security settings",
      notice: takeNotice(req),
      app: await totp.findEnrolledApp(user.id),
      phone: await phone.findVerifiedPhone(user.id),
      recoveryCodesLeft: await recoveryCodes.countRemainingCodes(user.id),
      hasSecondFactor: factors.length > 0,
      // The last factor of a user who must have one cannot be removed.
      canRemoveLastFactor:
        !isSecondFactorRequired(user.role, config) || new Set(factors.map((f) => (f.kind === "app" ? "app" : "phone"))).size > 1,
    });
  });

  // Step-up: the password and, when the user has one, the second factor again.
  router.get("/confirm", async (req, res) => {
    const methods = (await twoFactor.listEnrolledMethods(req.user!.id)).filter(
      (method) => method.kind === "app" || method.kind === "recovery",
    );
    renderPage(res, "account/confirm", {
      title: "Confirm it is you",
      methods,
      next: safeReturnPath(req.query.next),
      error: null,
    });
  });

  router.post("/confirm", async (req, res) => {
    const user = req.user!;
    const methods = (await twoFactor.listEnrolledMethods(user.id)).filter(
      (method) => method.kind === "app" || method.kind === "recovery",
    );
    const parsed = parseForm(confirmForm, req.body);
    const next = safeReturnPath(parsed.ok ? parsed.data.next : undefined);
    const again = (error: string, status = 400) =>
      renderPage(res, "account/confirm", { title: "Confirm it is you", methods, next, error }, status);
    if (!parsed.ok) return again(parsed.error);
    if (!(await verifyPassword(parsed.data.password, user.passwordHash))) {
      await audit.recordEvent(
        { type: "stepup.failed", actorUserId: user.id, subjectUserId: user.id, details: { reason: "password" } },
        requestContext(req),
      );
      return again("That password is not right.", 401);
    }
    if (methods.length > 0) {
      const kind = parsed.data.method ?? methods[0]!.kind;
      if (!parsed.data.code) return again("Enter the code from your app (or a recovery code).");
      const result = await twoFactor.verifyFreshResponse(
        { userId: user.id, kind, response: parsed.data.code },
        requestContext(req),
      );
      if (result.status === "locked")
        throw new HttpError(429, "Too many wrong codes in a row. Please wait before trying again.", { retryAt: result.until });
      if (result.status !== "passed") return again("That code is not right.");
    }
    req.session.authenticatedAt = clock.now().getTime();
    await saveSession(req);
    await audit.recordEvent({ type: "stepup.passed", actorUserId: user.id, subjectUserId: user.id }, requestContext(req));
    res.redirect(303, next);
  });

  router.use("/2fa/app", stepUp, appEnrolmentRoutes(deps, { basePath: "/account/2fa/app" }));

  router.post("/2fa/phone/remove", stepUp, async (req, res) => {
    await removeFactor(req.user!, "sms", req);
    req.session.notice = "Your phone number was removed: SMS and phone calls are no longer used to log in.";
    res.redirect(303, "/account/security");
  });
  router.use("/2fa/phone", stepUp, phoneEnrolmentRoutes(deps, { basePath: "/account/2fa/phone" }));

  /**
   * Removes one factor (the phone covers SMS and call). The last factor of a user who must have
   * one cannot go; when nothing is left, the recovery codes go too.
   */
  async function removeFactor(user: User, kind: "app" | "sms", req: Request) {
    const factors = (await twoFactor.listEnrolledMethods(user.id)).filter((method) => method.kind !== "recovery");
    const remaining = factors.filter((method) => (kind === "app" ? method.kind !== "app" : method.kind === "app"));
    if (remaining.length === 0 && isSecondFactorRequired(user.role, config)) {
      throw new HttpError(
        403,
        "Your role requires two-step login, so you cannot remove your last method. Add another method first.",
      );
    }
    await twoFactor.removeMethod(user.id, kind, requestContext(req));
    if (remaining.length === 0) await twoFactor.removeMethod(user.id, "recovery", requestContext(req));
    const verified = kind === "app" ? await phone.findVerifiedPhone(user.id) : null;
    if (verified)
      await phone.sendSecurityNotice(
        verified.phone,
        "the authenticator app was removed from your two-step login. If you did not do this, contact the practice.",
      );
  }

  router.post("/2fa/app/remove", stepUp, async (req, res) => {
    await removeFactor(req.user!, "app", req);
    req.session.notice = "The authenticator app was removed from your account.";
    res.redirect(303, "/account/security");
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

  router.post("/recovery-codes/saved", (req, res) => {
    req.session.notice = "Two-step login is on. Keep your recovery codes somewhere safe.";
    res.redirect(303, "/account/security");
  });

  router.post("/2fa/invitation/dismiss", (req, res) => {
    req.session.twoFactorInviteDismissed = true;
    res.redirect(303, "/");
  });

  return router;
}
