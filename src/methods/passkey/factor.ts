import type { Config } from "../../config.js";
import type { Database } from "../../db/database.js";
import type { AuditLog } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import type { LoginMethod, SecondFactor } from "../method.js";
import { passkeyDefinition } from "./definition.js";
import { authenticationResponseSchema, createPasskeys } from "./passkeys.js";

export type PasskeyFactor = ReturnType<typeof createPasskeyFactor>;

/** Passkeys as one of the registry's factors: its service, and its login method. */
export function createPasskeyFactor(deps: { db: Database; clock: Clock; config: Config; audit: AuditLog }) {
  const passkeys = createPasskeys(deps);

  // The browser's signed answer, as JSON text; the challenge it must sign was kept by the web layer.
  const method: LoginMethod = {
    kind: "passkey",
    normaliseResponse(sent) {
      try {
        return authenticationResponseSchema.safeParse(JSON.parse(sent)).success ? sent : null;
      } catch {
        return null;
      }
    },
    async verifyResponse({ userId, response, challenge }) {
      if (!challenge) return "wrong";
      return passkeys.verifyAuthentication({ userId, response: JSON.parse(response), expectedChallenge: challenge });
    },
  };

  const factor: SecondFactor = {
    ...passkeyDefinition,
    methods: [method],
    async remove(userId, tx, item) {
      if (item === undefined) return (await passkeys.removeAllPasskeys(userId, tx)) > 0;
      // Not a passkey's number, or one that is not (or no longer) this user's: nothing to remove.
      if (!/^\d{1,18}$/.test(item)) return false;
      return (await passkeys.removePasskey(userId, Number(item), tx)).status === "removed";
    },
  };

  return { ...passkeys, factor };
}
