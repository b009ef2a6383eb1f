import { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { AuditLog } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { decryptSecret, encryptSecret } from "../../services/secret-box.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import type { RecoveryCodes } from "../../services/two-factor/recovery-codes.js";
import type { TotpFactor } from "../../services/two-factor/totp.js";
import type { User } from "../../services/users.js";
import { malformedCodeMessages } from "../code-messages.js";
import { field, parseForm } from "../forms.js";
import { renderLockedOut } from "../limit-pages.js";
import { type FormError, renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { enrolmentBindingOf } from "../session.js";

const codeForm = z.object({
  code: field(64, "Code").trim().min(1, "Enter the 6-digit code from your app."),
  _csrf: z.string().optional(),
});

export interface AppEnrolmentDeps {
  config: Config;
  clock: Clock;
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
 * Keeps a new set of recovery codes in the session and sends the browser to the page that shows
 * them (post/redirect/get): a reload shows them again, and no form is sent twice. They stay until
 * the user says they saved them, encrypted under APP_ENCRYPTION_KEY like the app secrets: the
 * database keeps recovery codes only as hashes, and the session table is no exception.
 */
export async function showNewRecoveryCodes(
  req: Request,
  res: Response,
  { codes, now, continueTo, config }: { codes: string[]; now: number; continueTo: string; config: Config },
) {
  const sealed = encryptSecret(JSON.stringify(codes), config.encryptionKey, newCodesPurpose(req.user!.id));
  req.session.newRecoveryCodes = { sealed, createdAt: now, continueTo };
  res.redirect(303, "/account/recovery-codes/new");
}

/** The new recovery codes kept in the session, or null when there are none (or they cannot be read). */
export function readNewRecoveryCodes(req: Request, config: Config): string[] | null {
  const kept = req.session.newRecoveryCodes;
  if (!kept?.sealed) return null;
  try {
    return JSON.parse(decryptSecret(kept.sealed, config.encryptionKey, newCodesPurpose(req.user!.id)).toString("utf8"));
  } catch {
    return null;
  }
}

const newCodesPurpose = (userId: number) => `new-recovery-codes:${userId}`;

/**
 * After a new factor works: the first factor comes with recovery codes, shown once (and so does
 * a factor added when no codes are left); otherwise on with a notice. A forced enrolment goes on
 * where the user was going (their home page unless the login said otherwise), not to settings.
 */
export async function finishEnrolment(
  { recoveryCodes, audit, clock, config }: Pick<AppEnrolmentDeps, "recoveryCodes" | "audit" | "clock" | "config">,
  req: Request,
  res: Response,
  { hadFactor, notice, isForced }: { hadFactor: boolean; notice: string; isForced: boolean },
) {
  const user = req.user!;
  const continueTo = isForced ? (req.session.returnTo ?? "/") : "/account/security";
  if (!hadFactor || (await recoveryCodes.countRemainingCodes(user.id)) === 0) {
    const codes = await recoveryCodes.regenerateRecoveryCodes(user.id);
    await audit.recordEvent(
      { type: "2fa.recovery_codes_generated", actorUserId: user.id, subjectUserId: user.id },
      requestContext(req),
    );
    return showNewRecoveryCodes(req, res, { codes, now: clock.now().getTime(), continueTo, config });
  }
  req.session.notice = notice;
  res.redirect(303, continueTo);
}

/**
 * Enrolment of an authenticator app, mounted at /account/2fa/app (a signed-in user adding or
 * replacing their app) and at /enrol/app (a user who must enrol before anything else).
 * `onEnrolled` runs after the app became the user's factor (e.g. to finish a forced enrolment).
 */
export function appEnrolmentRoutes(
  { config, clock, totp, twoFactor, recoveryCodes, audit }: AppEnrolmentDeps,
  { basePath, onEnrolled }: { basePath: string; onEnrolled?: (req: Request, res: Response) => Promise<void> },
) {
  const router = Router();
  const back = basePath.startsWith("/enrol")
    ? { href: "/enrol", label: "Back to the choice of methods" }
    : { href: "/account/security", label: "Back to security settings" };
  const showLockedOut = (res: Response, until: Date) => renderLockedOut(res, { until, now: clock.now(), back });

  async function showEnrolment(
    req: Request,
    res: Response,
    options: { replace?: boolean; error?: FormError | null; status?: number } = {},
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
    if (!parsed.ok) return showEnrolment(req, res, { error: parsed.formError, status: 400 });
    const hadFactor = await twoFactor.hasSecondFactor(user.id);
    const outcome = await totp.confirmAppEnrolment(user.id, parsed.data.code, enrolmentBindingOf(req), requestContext(req));
    switch (outcome.status) {
      case "enrolled":
        break;
      case "malformed":
        return showEnrolment(req, res, { error: { field: "code", message: malformedCodeMessages.app }, status: 400 });
      case "expired":
        return showEnrolment(req, res, {
          error: {
            field: "code",
            message:
              "This QR code has expired (after 15 minutes). Here is a new one: scan it again, or replace the entry in your app.",
          },
          status: 400,
        });
      case "locked":
        return showLockedOut(res, outcome.until);
      default:
        return showEnrolment(req, res, {
          error: {
            field: "code",
            message:
              "That code is not right. Check that the app shows the code for this portal, and that your phone's clock is set automatically.",
          },
          status: 400,
        });
    }
    await audit.recordEvent(
      { type: "2fa.enrolment_completed", actorUserId: user.id, subjectUserId: user.id, details: { method: "app" } },
      requestContext(req),
    );
    await onEnrolled?.(req, res);
    await finishEnrolment({ recoveryCodes, audit, clock, config }, req, res, {
      hadFactor,
      notice: "Your authenticator app is set up. From now on, use its codes to log in.",
      isForced: basePath.startsWith("/enrol"),
    });
  });

  return router;
}
