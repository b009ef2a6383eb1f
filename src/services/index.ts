import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import { createPhoneGateway } from "../gateways/index.js";
import type { PhoneGateway } from "../gateways/phone-gateway.js";
import { createI18n, type I18n, isLocale, translatorFor } from "../i18n.js";
import { createFactorServices } from "../methods/services.js";
import { createAdminService } from "./admin/index.js";
import { createAuditLog } from "./audit.js";
import type { Clock } from "./clock.js";
import { createLoginService } from "./login.js";
import { createPasswordChecks } from "./password-checks.js";
import { type PasswordVerifier, verifyPassword } from "./passwords.js";
import { createRememberedBrowsers } from "./remembered-browsers.js";
import { createRetention } from "./retention.js";
import { createSecurityOverviews } from "./security-overview.js";
import { createSessionService } from "./sessions.js";
import { createCodeTries } from "./two-factor/code-tries.js";
import { createTwoFactorService } from "./two-factor/index.js";
import { createUserLocales } from "./user-locale.js";
import { createUserService } from "./users.js";

export interface ServiceDeps {
  config: Config;
  db: Database;
  clock: Clock;
  /** Defaults to the gateway PHONE_GATEWAY names; tests may pass their own. */
  phoneGateway?: PhoneGateway;
  /** Defaults to bcrypt (passwords.ts); tests may pass one that observes the comparisons. */
  verifyPassword?: PasswordVerifier;
  /** The portal's words (src/i18n.ts), for the SMS texts; defaults to an instance built from the config. */
  i18n?: I18n;
}

/** Builds every service from its dependencies: the one place they are wired together. */
export function createServices(deps: ServiceDeps) {
  const audit = createAuditLog(deps);
  const rememberedBrowsers = createRememberedBrowsers({
    ...deps,
    audit,
    isSecondStepLocked: async (userId) => (await twoFactor.findLockedUntil(userId)) !== null,
  });
  const users = createUserService({ ...deps, audit, rememberedBrowsers });
  const sessions = createSessionService({ ...deps, audit });
  const login = createLoginService({
    ...deps,
    audit,
    users,
    passwordChecks: createPasswordChecks(deps.config.passwordChecks),
    verifyPassword: deps.verifyPassword ?? verifyPassword,
  });
  const codeTries = createCodeTries({ ...deps, audit });
  const i18n = deps.i18n ?? createI18n({ defaultLocale: deps.config.defaultLocale });
  const {
    services: factorServices,
    factors,
    oldPhoneWarning,
    securityNotices,
  } = createFactorServices({
    ...deps,
    // An SMS is written in its recipient's language, else in DEFAULT_LOCALE.
    phoneWords: (locale) => translatorFor(i18n, isLocale(locale) ? locale : deps.config.defaultLocale),
    gateway: deps.phoneGateway ?? createPhoneGateway(deps.config, deps.db, deps.clock),
    audit,
    codeTries,
    passLoginAttempt: (...args) => twoFactor.passAttempt(...args),
  });
  const twoFactor = createTwoFactorService({ ...deps, audit, codeTries, factors });
  const admin = createAdminService({ ...deps, audit, users, sessions, twoFactor, rememberedBrowsers }, { oldPhoneWarning });
  const retention = createRetention({ ...deps, factors, recordEndedIpBlocks: () => login.recordEndedIpBlocks() });
  const securityOverviews = createSecurityOverviews(deps);
  const userLocales = createUserLocales(deps);
  return {
    audit,
    users,
    sessions,
    login,
    ...factorServices,
    securityNotices,
    twoFactor,
    admin,
    retention,
    rememberedBrowsers,
    securityOverviews,
    userLocales,
  };
}

export type Services = ReturnType<typeof createServices>;
