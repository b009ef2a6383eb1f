import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import { createPhoneGateway } from "../gateways/index.js";
import type { PhoneGateway } from "../gateways/phone-gateway.js";
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
import { createUserService } from "./users.js";

export interface ServiceDeps {
  config: Config;
  db: Database;
  clock: Clock;
  /** Defaults to the gateway PHONE_GATEWAY names; tests may pass their own. */
  phoneGateway?: PhoneGateway;
  /** Defaults to bcrypt (passwords.ts); tests may pass one that observes the comparisons. */
  verifyPassword?: PasswordVerifier;
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
  const {
    services: factorServices,
    factors,
    oldPhoneWarning,
    securityNotices,
  } = createFactorServices({
    ...deps,
    gateway: deps.phoneGateway ?? createPhoneGateway(deps.config, deps.db, deps.clock),
    audit,
    codeTries,
    passLoginAttempt: (...args) => twoFactor.passAttempt(...args),
  });
  const twoFactor = createTwoFactorService({ ...deps, audit, codeTries, factors });
  const admin = createAdminService({ ...deps, audit, users, sessions, twoFactor, rememberedBrowsers }, { oldPhoneWarning });
  const retention = createRetention({ ...deps, factors, recordEndedIpBlocks: () => login.recordEndedIpBlocks() });
  const securityOverviews = createSecurityOverviews(deps);
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
  };
}

export type Services = ReturnType<typeof createServices>;
