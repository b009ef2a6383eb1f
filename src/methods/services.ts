import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import type { PhoneGateway } from "../gateways/phone-gateway.js";
import type { Translate } from "../i18n.js";
import type { OldPhoneWarning } from "../services/admin/second-factor-reset.js";
import type { AuditLog, RequestContext } from "../services/audit.js";
import type { Clock } from "../services/clock.js";
import type { CodeTries } from "../services/two-factor/code-tries.js";
import type { PassResult } from "../services/two-factor/index.js";
import { createTotpFactor } from "./app/totp.js";
import type { MethodKind, SecondFactor } from "./method.js";
import { createPasskeyFactor } from "./passkey/factor.js";
import { createPhoneFactor } from "./phone/phone.js";
import { createRecoveryCodes } from "./recovery/recovery-codes.js";
import { factorDefinitions } from "./registry.js";

export interface FactorServiceDeps {
  /** The SMS and call texts in a recipient's language (null: the portal's default language). */
  phoneWords: (locale: string | null) => Translate;
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
  codeTries: CodeTries;
  gateway: PhoneGateway;
  /** Marks a login attempt passed unless two-step login is locked (the two-factor service's passAttempt). */
  passLoginAttempt: (attemptId: string, userId: number, kind: MethodKind, context: RequestContext) => Promise<PassResult>;
}

/** Builds each factor's services: the registry's list, with what each factor needs. */
export function createFactorServices(deps: FactorServiceDeps) {
  const services = {
    phone: createPhoneFactor(deps),
    totp: createTotpFactor(deps),
    recoveryCodes: createRecoveryCodes(deps),
    passkeys: createPasskeyFactor(deps),
  };
  const built: SecondFactor[] = Object.values(services).map((service) => service.factor);
  // In the registry's order, which the method-choice page follows.
  const factors = factorDefinitions.map((definition) => {
    const factor = built.find((candidate) => candidate.id === definition.id);
    if (!factor) throw new Error(`The factor ${definition.id} has no services`);
    return factor;
  });

  /** The old number hears of an admin reset: a reset asked for by someone else does not go unnoticed. */
  const oldPhoneWarning: OldPhoneWarning = {
    collectPhoneNumbers: async (userId, tx) =>
      [await services.phone.findPhoneNumberIn(tx, userId)].filter((n): n is string => n !== null),
    sendResetWarning: async (number, user) => {
      // In the language of the number's owner (their saved choice, else DEFAULT_LOCALE), not the admin's.
      const sent = await services.phone.sendSecurityNotice(number, deps.phoneWords(user.locale)("phone:notice.resetByPractice"));
      if (!sent) throw new Error("the warning SMS could not be sent");
    },
  };

  /**
   * Tells the user of a security change by SMS to their verified number, when they have one, so
   * that a change made behind their back is noticed. A failure to send never undoes the change.
   */
  const securityNotices = {
    /**
     * Reads where the user can be warned now, and returns what sends the warning: called before a
     * change that may remove that very number, so that it still hears of it.
     */
    async prepareWarning(userId: number): Promise<(text: string) => Promise<void>> {
      const verified = await services.phone.findVerifiedPhone(userId);
      return async (text) => {
        if (verified) await services.phone.sendSecurityNotice(verified.phone, text);
      };
    },
  };

  return { services, factors, oldPhoneWarning, securityNotices };
}
