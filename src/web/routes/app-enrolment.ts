import { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { AuditLog } from "../../services/audit.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import type { RecoveryCodes } from "../../services/two-factor/recovery-codes.js";
import type { TotpFactor } from "../../services/two-factor/totp.js";
import type { User } from "../../services/users.js";
import { malformedCodeMessages, twoFactorLockedError } from "../code-messages.js";
import { field, parseForm } from "../forms.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { enrolmentBindingOf } from "../session.js";

const codeForm = z.object({
  code: field(64).trim().min(1, "Enter the 6-digit code from your app."),
  _csrf: z.string().optional(),
});

export interface AppEnrolmentDeps {
  totp: TotpFactor;
  twoFactor: TwoFactorService;
  recoveryCodes: RecoveryCodes;
  audit: AuditLog;
}

/** Renders the one-time page that shows a fresh set of recovery codes. */
export function renderNewRecoveryCodes(res: Response, user: User, codes: string[], portalName: string, status = 200) {
  const text = [
    `${portalName} recovery codes for ${user.email}`,
    "Each code works once, instead of your phone or app. Keep them somewhere safe.",
    "",
    ...codes,
    "",
  ].join("\n");
  renderPage(
    res,
    "account/recovery-codes-new",
    { title: "Your recovery codes", codes, downloadText: text, scripts: ["/public/js/recovery-codes.js"] },
    status,
  );
}

/**
 * After a new factor works: the first factor comes with recovery codes, shown once (and so does
 * a factor added when no codes are left); otherwise back to the security page with a notice.
 */
export async function finishEnrolment(
  { recoveryCodes, audit }: Pick<AppEnrolmentDeps, "recoveryCodes" | "audit">,
  req: Request,
  res: Response,
  { hadFactor, notice }: { hadFactor: boolean; notice: string },
) {
  const user = req.user!;
  if (!hadFactor || (await recoveryCodes.countRemainingCodes(user.id)) === 0) {
    const codes = await recoveryCodes.regenerateRecoveryCodes(user.id);
    await audit.recordEvent(
      { type: "2fa.recovery_codes_generated", actorUserId: user.id, subjectUserId: user.id },
      requestContext(req),
    );
    return renderNewRecoveryCodes(res, user, codes, res.locals.portalName);
  }
  req.session.notice = notice;
  res.redirect(303, "/account/security");
}

/**
 * Enrolment of an authenticator app, mounted at /account/2fa/app (a signed-in user adding or
 * replacing their app) and at /enrol/app (a user who must enrol before anything else).
 * `onEnrolled` runs after the app became the user's factor (e.g. to finish a forced enrolment).
 */
export function appEnrolmentRoutes(
  { totp, twoFactor, recoveryCodes, audit }: AppEnrolmentDeps,
  { basePath, onEnrolled }: { basePath: string; onEnrolled?: (req: Request, res: Response) => Promise<void> },
) {
  const router = Router();

  async function showEnrolment(
    req: Request,
    res: Response,
    options: { replace?: boolean; error?: string | null; status?: number } = {},
  ) {
    const user = req.user!;
    const { enrolment, isNew } = await totp.startAppEnrolment(user, options.replace, enrolmentBindingOf(req));
    if (isNew) {
      await audit.recordEvent(
        { type: "2fa.enrolment_started", actorUserId: user.id, subjectUserId: user.id, details: { method: "app" } },
        requestContext(req),
      );
    }
    const alreadyEnrolled = await totp.findEnrolledApp(user.id);
    renderPage(
      res,
      "account/app-enrolment",
      {
        title: "Set up an authenticator app",
        enrolment,
        basePath,
        alreadyEnrolled,
        error: options.error ?? null,
        scripts: ["/public/js/copy-secret.js"],
      },
      options.status ?? 200,
    );
  }

  router.get("/", (req, res) => showEnrolment(req, res));

  router.post("/new", (req, res) => showEnrolment(req, res, { replace: true }));

  router.post("/", async (req, res) => {
    const user = req.user!;
    const parsed = parseForm(codeForm, req.body);
    if (!parsed.ok) return showEnrolment(req, res, { error: parsed.error, status: 400 });
    const hadFactor = await twoFactor.hasSecondFactor(user.id);
    const outcome = await totp.confirmAppEnrolment(user.id, parsed.data.code, enrolmentBindingOf(req), requestContext(req));
    switch (outcome.status) {
      case "enrolled":
        break;
      case "malformed":
        return showEnrolment(req, res, { error: malformedCodeMessages.app, status: 400 });
      case "expired":
        return showEnrolment(req, res, {
          error:
            "This QR code has expired (after 15 minutes). Here is a new one: scan it again, or replace the entry in your app.",
          status: 400,
        });
      case "locked":
        throw twoFactorLockedError(outcome.until);
      default:
        return showEnrolment(req, res, {
          error:
            "That code is not right. Check that the app shows the code for this portal, and that your phone's clock is set automatically.",
          status: 400,
        });
    }
    await audit.recordEvent(
      { type: "2fa.enrolment_completed", actorUserId: user.id, subjectUserId: user.id, details: { method: "app" } },
      requestContext(req),
    );
    await onEnrolled?.(req, res);
    await finishEnrolment({ recoveryCodes, audit }, req, res, {
      hadFactor,
      notice: "Your authenticator app is set up. From now on, use its codes to log in.",
    });
  });

  return router;
}
