import { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Clock } from "../../services/clock.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import { type EnrolmentStep, enrolmentBackLink } from "../../web/enrolment-step.js";
import { field, parseForm } from "../../web/forms.js";
import { phrase } from "../../web/i18n-helpers.js";
import { renderLockedOut } from "../../web/limit-pages.js";
import { type FormError, renderPage } from "../../web/render.js";
import { requestContext } from "../../web/request-context.js";
import { enrolmentBindingOf } from "../../web/session.js";
import { appPages } from "./pages.js";
import type { TotpFactor } from "./totp.js";

const codeForm = z.object({
  code: field(64, phrase("twoFactor:code.fieldName")).trim().min(1, "methods:app.enrolment.codeMissing"),
  _csrf: z.string().optional(),
});

export interface AppEnrolmentDeps {
  clock: Clock;
  totp: TotpFactor;
  twoFactor: TwoFactorService;
  enrolmentStep: EnrolmentStep;
}

/**
 * Enrolment of an authenticator app, mounted at /account/2fa/app (a signed-in user adding or
 * replacing their app) and at /enrol/app (a user who must enrol before anything else).
 * `onEnrolled` runs after the app became the user's factor (e.g. to finish a forced enrolment).
 */
export function appEnrolmentRoutes(
  { clock, totp, twoFactor, enrolmentStep }: AppEnrolmentDeps,
  { basePath, onEnrolled }: { basePath: string; onEnrolled?: (req: Request, res: Response) => Promise<void> },
) {
  const router = Router();
  const back = enrolmentBackLink(basePath);
  const showLockedOut = (res: Response, until: Date) => renderLockedOut(res, { until, now: clock.now(), back });

  async function showEnrolment(
    req: Request,
    res: Response,
    options: { replace?: boolean; error?: FormError | null; status?: number } = {},
  ) {
    const user = req.user!;
    const { enrolment } = await totp.startAppEnrolment(user, options.replace, enrolmentBindingOf(req), requestContext(req));
    const alreadyEnrolled = await totp.findEnrolledApp(user.id);
    renderPage(
      res,
      "methods/app/enrolment",
      {
        title: phrase("methods:app.enrolment.title"),
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
        return showEnrolment(req, res, {
          error: { field: "code", message: phrase(appPages.logins[0]!.malformedMessage) },
          status: 400,
        });
      case "expired":
        return showEnrolment(req, res, {
          error: { field: "code", message: phrase("methods:app.enrolment.expired") },
          status: 400,
        });
      case "locked":
        return showLockedOut(res, outcome.until);
      default:
        return showEnrolment(req, res, {
          error: { field: "code", message: phrase("methods:app.enrolment.wrong") },
          status: 400,
        });
    }
    await onEnrolled?.(req, res);
    await enrolmentStep.finishEnrolment(req, res, {
      hadFactor,
      notice: appPages.enrolment!.enrolledNotice,
      isForced: basePath.startsWith("/enrol"),
    });
  });

  return router;
}
