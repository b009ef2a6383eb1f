import type { Queryable } from "../../db/database.js";
import type { RequestContext } from "../audit.js";
import { isSecondFactorRequired } from "../policy.js";
import type { MethodKind } from "../two-factor/index.js";
import { mapUserRow, type User, userColumns } from "../users.js";
import type { AdminServiceDeps } from "./deps.js";
import { countRecoveryCodesLeft, listSecondFactorKinds } from "./factor-facts.js";
import type { Refusal, Success } from "./outcomes.js";

export const maxResetReasonLength = 500;

/**
 * Warns the phone number a user had before an admin reset their second factor ("your login
 * methods were reset; if you did not ask for this, call the practice"), so that a reset done for
 * someone who stole the account does not go unnoticed. Supplied by the phone factor's wiring.
 */
export interface OldPhoneWarning {
  /**
   * Runs inside the reset transaction, before any factor is removed, so the verified number can
   * still be read. Use the tx given: the embedded database holds one connection.
   */
  collectPhoneNumbers(userId: number, tx: Queryable): Promise<string[]>;
  /**
   * Runs after the reset is committed; a failure is counted, it never undoes the reset. The
   * warning is in the user's language (`locale`, users.locale; null: the portal's default).
   */
  sendResetWarning(
    phoneNumber: string,
    user: Pick<User, "id" | "name"> & { locale: string | null },
    context: RequestContext,
  ): Promise<void>;
}

export interface SecondFactorReset {
  user: Pick<User, "id" | "email" | "name" | "role">;
  removedMethods: MethodKind[];
  recoveryCodesRemoved: number;
  sessionsEnded: number;
  /** The numbers collected by the OldPhoneWarning hook (full numbers: never log or show them). */
  removedPhoneNumbers: string[];
  phoneWarnings: { sent: number; failed: number };
  /** The user's role requires a second factor: they set up a new one at their next login. */
  mustEnrolAgain: boolean;
}

/** The reset of a user's second factor, for a lost or replaced phone. */
export function createSecondFactorReset(
  {
    db,
    config,
    audit,
    sessions,
    twoFactor,
    rememberedBrowsers,
  }: Pick<AdminServiceDeps, "db" | "config" | "audit" | "sessions" | "twoFactor" | "rememberedBrowsers">,
  /** Absent until phone factors exist: then nothing is sent. */
  oldPhoneWarning?: OldPhoneWarning,
) {
  /**
   * Removes every second factor, recovery code and pending login attempt of the user and ends all
   * of their sessions, in one transaction with the audit event. adminId is null when no admin
   * could log in (the command line). Returns what was removed, so the old phone can be warned.
   */
  async function resetSecondFactor(
    adminId: number | null,
    userId: number,
    reason: string,
    context: RequestContext,
  ): Promise<
    | Success<"second_factor_reset">
    | Refusal<"reset_reason_missing" | "reset_reason_too_long" | "own_second_factor" | "user_not_found">
  > {
    const why = reason.trim();
    if (!why) return { ok: false, reason: "reset_reason_missing" };
    if (why.length > maxResetReasonLength) return { ok: false, reason: "reset_reason_too_long", maxLength: maxResetReasonLength };
    if (adminId !== null && adminId === userId) return { ok: false, reason: "own_second_factor" };
    // Read before the transaction: the methods look in the database on their own connection.
    const removedMethods = await listSecondFactorKinds(twoFactor, userId);

    const outcome = await db.transaction(async (tx) => {
      const { rows } = await tx.query(`SELECT ${userColumns}, u.locale FROM users u WHERE u.id = $1 FOR UPDATE`, [userId]);
      if (!rows[0]) return null;
      const user = mapUserRow(rows[0]);
      const locale = typeof rows[0].locale === "string" ? rows[0].locale : null;
      const phoneNumbers = (await oldPhoneWarning?.collectPhoneNumbers(userId, tx)) ?? [];
      const recoveryCodesRemoved = await countRecoveryCodesLeft(tx, userId);
      await twoFactor.removeAllFactors(userId, tx);
      // In the same transaction, so the sessions end together with the factors.
      const ended = await sessions.invalidateUserSessions(userId, null, tx);
      await rememberedBrowsers.forgetBrowsers(userId, "second_factor_reset", context, { tx, actorUserId: adminId });
      await audit.recordEvent(
        {
          type: "2fa.reset",
          actorUserId: adminId,
          subjectUserId: userId,
          details: {
            reason: why,
            removedMethods,
            recoveryCodesRemoved,
            sessionsEnded: ended.count,
          },
        },
        context,
        tx,
      );
      return { user, locale, phoneNumbers, recoveryCodesRemoved, sessionsEnded: ended.count };
    });
    if (!outcome) return { ok: false, reason: "user_not_found" };

    const { user } = outcome;
    const phoneWarnings = { sent: 0, failed: 0 };
    for (const phoneNumber of outcome.phoneNumbers) {
      try {
        await oldPhoneWarning?.sendResetWarning(phoneNumber, { ...user, locale: outcome.locale }, context);
        phoneWarnings.sent += 1;
      } catch {
        phoneWarnings.failed += 1;
      }
    }
    const reset: SecondFactorReset = {
      user: { id: user.id, email: user.email, name: user.name, role: user.role },
      removedMethods,
      recoveryCodesRemoved: outcome.recoveryCodesRemoved,
      sessionsEnded: outcome.sessionsEnded,
      removedPhoneNumbers: outcome.phoneNumbers,
      phoneWarnings,
      mustEnrolAgain: isSecondFactorRequired(user.role, config),
    };
    return { ok: true, outcome: "second_factor_reset", reset };
  }

  return { resetSecondFactor };
}
