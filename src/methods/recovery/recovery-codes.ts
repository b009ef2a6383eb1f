import type { Config } from "../../config.js";
import type { Database, Queryable } from "../../db/database.js";
import type { AuditLog, RequestContext } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { deriveKey } from "../../services/keys.js";
import type { LoginMethod, SecondFactor } from "../method.js";
import { recoveryDefinition } from "./definition.js";
import { generateRecoveryCodes, hashRecoveryCode, isRecoveryCodeShaped, normaliseRecoveryCode } from "./recovery-code-values.js";

export type RecoveryCodes = ReturnType<typeof createRecoveryCodes>;

/** Single-use recovery codes: shown once, kept as keyed hashes, checked like any other factor. */
export function createRecoveryCodes({
  db,
  clock,
  config,
  audit,
}: {
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
}) {
  const pepper = deriveKey(config, "recovery-codes");

  /** Replaces the user's codes with a new set; the old set stops working in the same transaction. */
  async function regenerateRecoveryCodes(userId: number, tx?: Queryable): Promise<string[]> {
    const codes = generateRecoveryCodes();
    const write = async (q: Queryable) => {
      await q.query("DELETE FROM recovery_codes WHERE user_id = $1", [userId]);
      for (const code of codes) {
        await q.query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)", [
          userId,
          hashRecoveryCode(code, pepper),
          clock.now(),
        ]);
      }
    };
    if (tx) await write(tx);
    else await db.transaction(write);
    return codes;
  }

  /**
   * A new set for the user, audited in the same transaction: with their first factor
   * ("generated"), or asked for on the security page ("regenerated": the old set stops working).
   */
  async function issueRecoveryCodes(
    userId: number,
    why: "generated" | "regenerated",
    context: RequestContext,
  ): Promise<string[]> {
    return db.transaction(async (tx) => {
      const codes = await regenerateRecoveryCodes(userId, tx);
      await audit.recordEvent({ type: `2fa.recovery_codes_${why}`, actorUserId: userId, subjectUserId: userId }, context, tx);
      return codes;
    });
  }

  async function countRemainingCodes(userId: number): Promise<number> {
    const { rows } = await db.query("SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", [
      userId,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  const method: LoginMethod = {
    kind: "recovery",
    normaliseResponse: (typed) => (isRecoveryCodeShaped(typed) ? normaliseRecoveryCode(typed) : null),
    async verifyResponse({ userId, response }) {
      // One conditional UPDATE: of two parallel requests with the same code, one finds it unused.
      const { rowCount } = await db.query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        [userId, hashRecoveryCode(response, pepper), clock.now()],
      );
      return rowCount === 1 ? "right" : "wrong";
    },
  };

  const factor: SecondFactor = {
    ...recoveryDefinition,
    methods: [method],
    async remove(userId, tx, item) {
      if (item !== undefined) return false;
      const { rowCount } = await tx.query("DELETE FROM recovery_codes WHERE user_id = $1", [userId]);
      return rowCount > 0;
    },
  };

  return { regenerateRecoveryCodes, issueRecoveryCodes, countRemainingCodes, factor };
}
