import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import { createPhoneGateway } from "../gateways/index.js";
import type { PhoneGateway } from "../gateways/phone-gateway.js";
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
import { createPhoneFactor } from "./two-factor/phone.js";
import { createRecoveryCodes } from "./two-factor/recovery-codes.js";
import { createTotpFactor } from "./two-factor/totp.js";
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
  const sessions = createSessionService(deps);
  const login = createLoginService({
    ...deps,
    audit,
    users,
    passwordChecks: createPasswordChecks(deps.config.passwordChecks),
    verifyPassword: deps.verifyPassword ?? verifyPassword,
  });
  const codeTries = createCodeTries({ ...deps, audit });
  const totp = createTotpFactor({ ...deps, codeTries });
  const recoveryCodes = createRecoveryCodes(deps);
  const phone = createPhoneFactor({
    ...deps,
    gateway: deps.phoneGateway ?? createPhoneGateway(deps.config, deps.db, deps.clock),
    audit,
    codeTries,
    passLoginAttempt: (...args) => twoFactor.passAttempt(...args),
  });
  // The order of the method-choice page, as in the practice's help text; recovery codes last.
  const twoFactor = createTwoFactorService({
    ...deps,
    audit,
    codeTries,
    methods: [phone.smsMethod, phone.callMethod, totp.method, recoveryCodes.method],
  });
  const admin = createAdminService(
    { ...deps, audit, users, sessions, twoFactor, rememberedBrowsers },
    {
      // The old number hears of a reset: a reset asked for by someone else does not go unnoticed.
      oldPhoneWarning: {
        collectPhoneNumbers: async (userId, tx) =>
          [await phone.findPhoneNumberIn(tx, userId)].filter((n): n is string => n !== null),
        sendResetWarning: async (number) => {
          const sent = await phone.sendSecurityNotice(
            number,
            "your two-step login was reset by the practice. If you did not ask for this, contact the practice.",
          );
          if (!sent) throw new Error("the warning SMS could not be sent");
        },
      },
    },
  );
  const retention = createRetention({ ...deps, recordEndedIpBlocks: () => login.recordEndedIpBlocks() });
  const securityOverviews = createSecurityOverviews(deps);
  return {
    audit,
    users,
    sessions,
    login,
    totp,
    recoveryCodes,
    phone,
    twoFactor,
    admin,
    retention,
    rememberedBrowsers,
    securityOverviews,
  };
}

export type Services = ReturnType<typeof createServices>;
