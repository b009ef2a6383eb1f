import type { Database } from "../../db/database.js";
import type { MethodKind } from "../../methods/method.js";
import type { AuditLog, RequestContext } from "../audit.js";
import { addMinutes, type Clock } from "../clock.js";

// The limits of SECURITY.md ("Throttling and lock-outs"); the README gives the same numbers.
export const wrongCodesPerAttempt = 5;
export const wrongCodesBeforeLock = 10;
export const lockMinutes = 15;

/** What a wrong code, or a try that could not be taken, led to. */
export type RefusedCode =
  | { status: "wrong_code"; attemptsLeft: number }
  /** Too many wrong codes in this attempt: back to the password step. */
  | { status: "voided" }
  /** Too many wrong codes in a row for the account: every method waits until `until`. */
  | { status: "locked"; until: Date }
  /** The attempt is over (expired, voided, denied, or not this user's). */
  | { status: "invalid_attempt" };

/** What checking a well-formed code found: right (with what it proved), wrong, or a code already used. */
export type CodeCheck = { status: "right"; value: unknown } | { status: "wrong" } | { status: "replayed" };

interface ReservedTry {
  accountFailures: number;
  attemptFailures: number;
  /** Set when this try was the one that reached the limit: the lock it set, as if it will fail. */
  lockedUntil: Date | null;
}

export type CodeTries = ReturnType<typeof createCodeTries>;

/**
 * Counting typed codes: 5 wrong ones void a login attempt, 10 in a row lock two-step login for the
 * account. Every code typed anywhere (login, step-up, enrolment) goes through checkCode, which
 * takes the try before the code is checked.
 */
export function createCodeTries({ db, clock, audit }: { db: Database; clock: Clock; audit: AuditLog }) {
  async function findLockedUntil(userId: number): Promise<Date | null> {
    const { rows } = await db.query("SELECT second_factor_locked_until AS until FROM users WHERE id = $1", [userId]);
    const until = (rows[0]?.until as Date | null) ?? null;
    return until && until > clock.now() ? until : null;
  }

  /**
   * Takes one try from the account (10 wrong codes in a row lock it) and, for a login, one from
   * the attempt (5 void it), BEFORE the code is checked: parallel guesses are counted one by one
   * in Postgres, so no burst can check more codes than the limits allow. The 10th try sets the
   * lock as if it will fail; a right code lifts it again.
   */
  async function reserveCodeTry(
    userId: number,
    attemptId: string | null,
  ): Promise<{ ok: true; reserved: ReservedTry } | { ok: false; result: RefusedCode }> {
    const now = clock.now();
    const lockUntil = addMinutes(now, lockMinutes);
    const notOpen = new Error("attempt not open");
    try {
      return await db.transaction(async (tx) => {
        const account = await tx.query(
          `UPDATE users SET
             second_factor_failures = CASE WHEN second_factor_failures + 1 >= $3 THEN 0 ELSE second_factor_failures + 1 END,
             second_factor_locked_until = CASE WHEN second_factor_failures + 1 >= $3 THEN $4::timestamptz ELSE NULL END
           WHERE id = $1 AND (second_factor_locked_until IS NULL OR second_factor_locked_until <= $2)
           RETURNING second_factor_failures AS n, second_factor_locked_until AS until`,
          [userId, now, wrongCodesBeforeLock, lockUntil],
        );
        const row = account.rows[0];
        if (!row) {
          const { rows } = await tx.query("SELECT second_factor_locked_until AS until FROM users WHERE id = $1", [userId]);
          return { ok: false as const, result: { status: "locked" as const, until: (rows[0]?.until as Date) ?? lockUntil } };
        }
        let attemptFailures = 0;
        if (attemptId) {
          const attempt = await tx.query(
            `UPDATE login_attempts SET failed_codes = failed_codes + 1
             WHERE id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $3 AND failed_codes < $4
             RETURNING failed_codes AS n`,
            [attemptId, userId, now, wrongCodesPerAttempt],
          );
          // Rolls the account's try back too: a closed attempt checks no code.
          if (!attempt.rows[0]) throw notOpen;
          attemptFailures = Number(attempt.rows[0].n);
        }
        const lockedUntil = (row.until as Date | null) ?? null;
        return {
          ok: true as const,
          reserved: { accountFailures: lockedUntil ? wrongCodesBeforeLock : Number(row.n), attemptFailures, lockedUntil },
        };
      });
    } catch (error) {
      if (error === notOpen) return { ok: false, result: { status: "invalid_attempt" } };
      throw error;
    }
  }

  /** A reserved try that turned out wrong: says what it led to (lock, void, or tries left). */
  async function settleWrongCode(
    userId: number,
    attemptId: string | null,
    kind: MethodKind,
    reserved: ReservedTry,
    context: RequestContext,
  ): Promise<RefusedCode> {
    const now = clock.now();
    return db.transaction(async (tx) => {
      await audit.recordEvent(
        { type: "2fa.code_refused", actorUserId: userId, subjectUserId: userId, details: { method: kind } },
        context,
        tx,
      );
      if (reserved.lockedUntil) {
        if (attemptId)
          await tx.query("UPDATE login_attempts SET status = 'voided', finished_at = $2 WHERE id = $1 AND status = 'pending'", [
            attemptId,
            now,
          ]);
        await audit.recordEvent(
          { type: "2fa.locked", subjectUserId: userId, details: { until: reserved.lockedUntil.toISOString() } },
          context,
          tx,
        );
        return { status: "locked" as const, until: reserved.lockedUntil };
      }
      if (attemptId && reserved.attemptFailures >= wrongCodesPerAttempt) {
        await tx.query("UPDATE login_attempts SET status = 'voided', finished_at = $2 WHERE id = $1 AND status = 'pending'", [
          attemptId,
          now,
        ]);
        await audit.recordEvent({ type: "2fa.attempt_voided", subjectUserId: userId, details: { method: kind } }, context, tx);
        return { status: "voided" as const };
      }
      return {
        status: "wrong_code" as const,
        attemptsLeft: attemptId
          ? wrongCodesPerAttempt - reserved.attemptFailures
          : wrongCodesBeforeLock - reserved.accountFailures,
      };
    });
  }

  /**
   * A reserved try whose code was one already used (an app code at or before the last accepted
   * time step): no guess, so the try goes back, and a lock this try set is lifted. Only someone
   * who saw a valid code can get here, so giving tries back cannot stretch a guessing burst.
   */
  async function releaseCodeTry(userId: number, attemptId: string | null, reserved: ReservedTry): Promise<void> {
    await db.transaction(async (tx) => {
      if (reserved.lockedUntil) {
        await tx.query(
          "UPDATE users SET second_factor_locked_until = NULL, second_factor_failures = $3 WHERE id = $1 AND second_factor_locked_until = $2",
          [userId, reserved.lockedUntil, wrongCodesBeforeLock - 1],
        );
      } else {
        await tx.query(
          "UPDATE users SET second_factor_failures = second_factor_failures - 1 WHERE id = $1 AND second_factor_failures > 0",
          [userId],
        );
      }
      if (attemptId)
        await tx.query("UPDATE login_attempts SET failed_codes = failed_codes - 1 WHERE id = $1 AND failed_codes > 0", [
          attemptId,
        ]);
    });
  }

  /** A right code proves the factor: the count of wrong ones goes, and so does a lock this try set. */
  async function settleRightCode(userId: number, reserved: ReservedTry): Promise<void> {
    await db.query(
      `UPDATE users SET second_factor_failures = 0,
         second_factor_locked_until = CASE WHEN second_factor_locked_until = $2 THEN NULL ELSE second_factor_locked_until END
       WHERE id = $1`,
      [userId, reserved.lockedUntil],
    );
  }

  /**
   * The one way a well-formed typed code is checked, whatever it is for (login, step-up,
   * enrolment): a try is taken first, then `check` runs; a wrong code is settled (tries left, void
   * or lock), a code just used gives its try back.
   */
  async function checkCode<C extends CodeCheck>(
    input: { userId: number; attemptId: string | null; kind: MethodKind },
    check: () => Promise<C>,
    context: RequestContext,
  ): Promise<Exclude<C, { status: "wrong" }> | RefusedCode> {
    const { userId, attemptId } = input;
    const taken = await reserveCodeTry(userId, attemptId);
    if (!taken.ok) return taken.result;
    const checked = await check();
    if (checked.status === "wrong") return settleWrongCode(userId, attemptId, input.kind, taken.reserved, context);
    if (checked.status === "replayed") await releaseCodeTry(userId, attemptId, taken.reserved);
    else await settleRightCode(userId, taken.reserved);
    return checked as Exclude<C, { status: "wrong" }>;
  }

  return { findLockedUntil, checkCode };
}
