import { type Request, type Response, Router } from "express";
import type { Config } from "../config.js";
import type { I18n } from "../i18n.js";
import type { Clock } from "../services/clock.js";
import type { Services } from "../services/index.js";
import type { EnrolmentStep } from "../web/enrolment-step.js";
import type { LoginStep } from "../web/login-step.js";
import type { RememberedBrowserSteps } from "../web/remembered-browsers.js";
import type { SecurityChangeSteps } from "../web/security-change.js";
import type { ResumableActions } from "../web/step-up.js";
import { appEnrolmentRoutes } from "./app/enrolment-routes.js";
import { appLoginRoutes } from "./app/login-routes.js";
import { passkeyAssetRoutes } from "./passkey/assets.js";
import { passkeyConfirmRoutes, passkeyLoginRoutes, passkeyRegistrationRoutes } from "./passkey/routes.js";
import { phoneEnrolmentRoutes } from "./phone/enrolment-routes.js";
import { callLoginRoutes, smsLoginRoutes } from "./phone/login-routes.js";
import { twilioWebhookRoutes } from "./phone/webhook-routes.js";
import { recoveryAccountRoutes } from "./recovery/account-routes.js";
import { recoveryLoginRoutes } from "./recovery/login-routes.js";

// Where each factor's pages are mounted: src/app.ts mounts these, and each names the factor's
// routes file, so every URL of a factor is two hops from src/app.ts. A new factor adds its lines
// here (and in registry.ts and services.ts).

export type MethodRouteDeps = Services & {
  config: Config;
  clock: Clock;
  i18n: I18n;
  loginStep: LoginStep;
  enrolmentStep: EnrolmentStep;
  rememberedBrowserSteps: RememberedBrowserSteps;
  resumableActions: ResumableActions;
  securityChange: SecurityChangeSteps;
};

/** The second step of a login, under /login/2fa (behind requireStage("password") and an open attempt). */
export function methodLoginRoutes(deps: MethodRouteDeps) {
  const router = Router();
  router.use("/sms", smsLoginRoutes(deps));
  router.use("/call", callLoginRoutes(deps));
  router.use("/app", appLoginRoutes(deps));
  router.use("/passkey", passkeyLoginRoutes(deps));
  router.use("/recovery", recoveryLoginRoutes(deps));
  return router;
}

/**
 * Setting a factor up, under /account/2fa (a signed-in user) or /enrol (a user who must).
 * `onEnrolled` runs once the factor works, with its id.
 */
export function methodEnrolmentRoutes(
  deps: MethodRouteDeps,
  { basePath, onEnrolled }: { basePath: string; onEnrolled: (req: Request, res: Response, factorId: string) => Promise<void> },
) {
  const router = Router();
  router.use(
    "/app",
    appEnrolmentRoutes(deps, { basePath: `${basePath}/app`, onEnrolled: (req, res) => onEnrolled(req, res, "app") }),
  );
  router.use(
    "/phone",
    phoneEnrolmentRoutes(deps, { basePath: `${basePath}/phone`, onEnrolled: (req, res) => onEnrolled(req, res, "phone") }),
  );
  router.use(
    "/passkey",
    passkeyRegistrationRoutes(deps, {
      basePath: `${basePath}/passkey`,
      onEnrolled: (req, res) => onEnrolled(req, res, "passkey"),
    }),
  );
  return router;
}

/** A factor's own pages in the signed-in account, under /account. */
export function methodAccountRoutes(deps: MethodRouteDeps) {
  const router = Router();
  router.use(recoveryAccountRoutes(deps));
  router.use(passkeyConfirmRoutes(deps));
  return router;
}

/** Providers' callbacks, under /webhooks: no session, no CSRF token; their signature is the check. */
export function methodWebhookRoutes(deps: MethodRouteDeps) {
  const router = Router();
  router.use("/twilio", twilioWebhookRoutes(deps));
  return router;
}

/** A factor's own browser scripts, at the root (before the pages' no-store), cached like /public. */
export function methodAssetRoutes(deps: Pick<MethodRouteDeps, "config">) {
  const router = Router();
  router.use(passkeyAssetRoutes(deps.config));
  return router;
}
