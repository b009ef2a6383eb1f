import express from "express";
import { pinoHttp } from "pino-http";
import type { Config } from "./config.js";
import type { Database } from "./db/database.js";
import { createPhoneGateway } from "./gateways/index.js";
import type { OutboxGateway } from "./gateways/outbox.js";
import type { PhoneGateway } from "./gateways/phone-gateway.js";
import { createI18n } from "./i18n.js";
import type { Logger } from "./logger.js";
import {
  methodAccountRoutes,
  methodAssetRoutes,
  methodEnrolmentRoutes,
  methodLoginRoutes,
  methodWebhookRoutes,
} from "./methods/routes.js";
import { publicDir, viewsDir } from "./paths.js";
import type { Clock } from "./services/clock.js";
import { createServices, type Services } from "./services/index.js";
import type { PasswordVerifier } from "./services/passwords.js";
import { createEnrolmentStep } from "./web/enrolment-step.js";
import { applySavedLanguage, createLanguageDetector, detectLanguage } from "./web/language.js";
import { urlForLog } from "./web/log-url.js";
import { createLoginStep } from "./web/login-step.js";
import { checkOrigin, createCsrfProtection } from "./web/middleware/csrf.js";
import { createErrorHandler, notFound } from "./web/middleware/errors.js";
import { createGuards, requireRecentAuthentication } from "./web/middleware/guards.js";
import { noStore, securityHeaders } from "./web/middleware/security-headers.js";
import { createRememberedBrowserSteps } from "./web/remembered-browsers.js";
import { accountRoutes, finishAccountEnrolment } from "./web/routes/account.js";
import { adminRoutes } from "./web/routes/admin.js";
import { authRoutes, refuseBlockedLogins } from "./web/routes/auth.js";
import { devOutboxRoutes } from "./web/routes/dev-outbox.js";
import { enrolRoutes, finishForcedEnrolment } from "./web/routes/enrol.js";
import { healthRoutes } from "./web/routes/health.js";
import { helpRoutes } from "./web/routes/help.js";
import { doctorRoutes, homeRedirect, patientRoutes } from "./web/routes/home.js";
import { languageRoutes } from "./web/routes/language.js";
import { rememberedBrowserRoutes } from "./web/routes/remembered-browsers.js";
import { twoFactorLoginRoutes } from "./web/routes/two-factor-login.js";
import { createSecurityChangeSteps } from "./web/security-change.js";
import { createSessionMiddleware, enforceSessionTimeouts } from "./web/session.js";
import { createResumableActions } from "./web/step-up.js";
import { viewHelpers } from "./web/view-helpers.js";

export interface AppDeps {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Defaults to the gateway PHONE_GATEWAY names; tests may pass their own. */
  phoneGateway?: PhoneGateway;
  /** Defaults to bcrypt; tests may pass one that observes the password comparisons. */
  verifyPassword?: PasswordVerifier;
}

export interface App {
  app: express.Express;
  services: Services;
}

/** Builds the portal without listening, so tests can drive it with supertest. */
export function createApp(deps: AppDeps): App {
  const { config, db, clock, logger } = deps;
  const phoneGateway = deps.phoneGateway ?? createPhoneGateway(config, db, clock);
  const i18n = createI18n({ defaultLocale: config.defaultLocale, detector: createLanguageDetector() });
  const services = createServices({ config, db, clock, phoneGateway, verifyPassword: deps.verifyPassword, i18n });
  const { requireStage, requireUser, requireRole } = createGuards({ ...services, config });
  const rememberedBrowserSteps = createRememberedBrowserSteps({ ...services, config, clock });
  const routeDeps = {
    ...services,
    config,
    clock,
    i18n,
    rememberedBrowserSteps,
    loginStep: createLoginStep({ ...services, clock, rememberedBrowserSteps }),
    enrolmentStep: createEnrolmentStep({ ...services, config, clock }),
    // The security actions a confirmation of who the user is can finish (see requireRecentAuthentication).
    resumableActions: createResumableActions(),
    securityChange: createSecurityChangeSteps({ ...services, rememberedBrowserSteps }),
  };
  const stepUp = requireRecentAuthentication(clock);

  const app = express();
  app.set("env", config.nodeEnv);
  app.set("trust proxy", config.trustProxy);
  app.set("view engine", "ejs");
  app.set("views", viewsDir);
  // Express turns this on only for NODE_ENV=production; every template compiles once unless VIEW_CACHE=false.
  app.set("view cache", config.viewCache);
  app.disable("x-powered-by");

  app.use(
    pinoHttp({
      logger,
      // Webhook paths carry a per-challenge token: keep it out of the log.
      serializers: {
        req: (req) => ({
          method: req.method,
          url: urlForLog(String(req.url)),
        }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === "/healthz" || req.url?.startsWith("/public/") === true },
    }),
  );
  app.use(securityHeaders(config));
  // Every page has its words from here on (req.t, res.locals.t), error pages included.
  app.use(detectLanguage(i18n));
  app.use(viewHelpers(config));
  app.use(methodAssetRoutes(routeDeps));
  app.use("/public", express.static(publicDir, { maxAge: config.isProduction ? "1d" : 0, index: false }));
  app.use(healthRoutes({ db, clock }));
  // Twilio's callbacks carry no session and no CSRF token: their signature is the check.
  app.use("/webhooks", methodWebhookRoutes(routeDeps));

  app.use(noStore);
  // A blocked address is refused before its form is read or its session loaded.
  app.post("/login", refuseBlockedLogins(services));
  app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 50 }));
  app.use(...createSessionMiddleware({ config, db, sessions: services.sessions, logger }));
  // The signed-in user's saved language, read with the session, comes before cookie and browser.
  app.use(applySavedLanguage);
  app.use(enforceSessionTimeouts(clock));
  app.use(checkOrigin(config));
  const { csrfProtection, provideCsrfToken } = createCsrfProtection(config);
  app.use(csrfProtection);
  app.use(provideCsrfToken);

  app.use(helpRoutes());
  app.use(languageRoutes({ ...services, config }));
  if (!config.isProduction && phoneGateway.name === "outbox") {
    app.use("/dev/outbox", devOutboxRoutes({ outbox: phoneGateway as OutboxGateway, phone: services.phone }));
  }
  app.use(authRoutes(routeDeps));
  app.use(
    "/login/2fa",
    requireStage("password"),
    routeDeps.loginStep.requireOpenAttempt,
    twoFactorLoginRoutes(routeDeps),
    methodLoginRoutes(routeDeps),
  );
  app.use(
    "/enrol",
    requireStage("enrol"),
    enrolRoutes(routeDeps),
    methodEnrolmentRoutes(routeDeps, { basePath: "/enrol", onEnrolled: finishForcedEnrolment(routeDeps) }),
  );
  app.use("/account/browsers", requireUser, rememberedBrowserRoutes(routeDeps));
  app.use("/account", requireUser, accountRoutes(routeDeps), methodAccountRoutes(routeDeps));
  // Setting up a factor needs a fresh confirmation of who the user is.
  app.use(
    "/account/2fa",
    requireUser,
    stepUp,
    methodEnrolmentRoutes(routeDeps, { basePath: "/account/2fa", onEnrolled: finishAccountEnrolment(routeDeps) }),
  );
  app.use("/patient", requireUser, requireRole("patient"), patientRoutes(services));
  app.use("/doctor", requireUser, requireRole("doctor"), doctorRoutes(services));
  app.use("/admin", requireUser, requireRole("admin"), adminRoutes({ ...services, clock }));
  app.get("/", requireUser, homeRedirect);

  app.use(notFound);
  app.use(createErrorHandler({ config, logger, clock }));
  return { app, services };
}
