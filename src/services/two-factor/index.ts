import { randomBytes } from "node:crypto";
import type { Database, Queryable } from "../../db/database.js";
import type { AuditLog, RequestContext } from "../audit.js";
import { addMinutes, type Clock } from "../clock.js";
import type { MethodKind, SecondFactorMethod } from "./method.js";

export type { MethodKind, SecondFactorMethod } from "./method.js";

// Numbers from SECURITY.md ("Rate limits and lockouts").
export const wrongCodesPerAttempt = 5;
export const wrongCodesBeforeLock = 10;
export const lockMinutes = 15;
export const attemptLifetimeMinutes = 10;

export interface LoginAttempt {
  id: string;
  userId: number;
  status: "pending" | "passed" | "voided" | "denied";
  failedCodes: number;
  expiresAt: Date;
}

export type VerifyResult =
  | { status: "passed"; method: MethodKind }
  | { status: "wrong_code"; attemptsLeft: number }
  /** Too many wrong codes in this attempt: back to the password step. */
  | { status: "voided" }
  /** Too many wrong codes in a row for the account. */
  | { status: "locked"; until: Date }
  /** The attempt is over (expired, voided, denied, or not this user's). */
  | { status: "invalid_attempt" };

/**
 * Which factors the user in the row `u` has set up, as columns read together with the user in one
 * query (the per-method isEnrolled takes a query each). A factor stored in a new table must be
 * added here too.
 */
export const enrolledFactorColumns = `EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id) AS has_app,
  EXISTS (SELECT 1 FROM phone_factors p WHERE p.user_id = u.id) AS has_phone,
  EXISTS (SELECT 1 FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS has_recovery_codes`;

/** The kinds of factor a row read with enrolledFactorColumns has: a phone gives both SMS and call. */
export function enrolledKindsOf(row: Record<string, unknown>): MethodKind[] {
  const kinds: MethodKind[] = [];
  if (row.has_phone === true) kinds.push("sms", "call");
  if (row.has_app === true) kinds.push("app");
  if (row.has_recovery_codes === true) kinds.push("recovery");
  return kinds;
}

/** Whether these factors include a real second factor (recovery codes alone do not count). */
export function includesSecondFactor(kinds: readonly MethodKind[]): boolean {
  return kinds.some((kind) => kind !== "recovery");
}

function mapAttempt(row: Record<string, unknown>): LoginAttempt {
  return {
    id: row.id as string,
    userId: Number(row.user_id),
    status: row.status as LoginAttempt["status"],
    failedCodes: Number(row.failed_codes),
    expiresAt: row.expires_at as Date,
  };
}

export type TwoFactorService = ReturnType<typeof createTwoFactorService>;

/**
 * The login's second step, whatever the factor: which methods a user has, the attempt that
 * passed the password, checking a response, counting failures, locking, and resetting.
 */
export function createTwoFactorService({
  db,
  clock,
  audit,
  methods,
}: {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  /** Every factor, in the order the method-choice page lists them; recovery codes last. */
  methods: SecondFactorMethod[];
}) {
  const byKind = new Map(methods.map((method) => [method.kind, method]));

  function findMethod(kind: string): SecondFactorMethod | undefined {
    return byKind.get(kind as MethodKind);
  }

  /** Which kinds of factor the user has set up, in one query. */
  async function findEnrolledKinds(userId: number): Promise<MethodKind[]> {
    const { rows } = await db.query(`SELECT ${enrolledFactorColumns} FROM users u WHERE u.id = $1`, [userId]);
    return rows[0] ? enrolledKindsOf(rows[0]) : [];
  }

  /** The methods of these kinds, in the order of the method-choice page. */
  function methodsOf(kinds: readonly MethodKind[]): SecondFactorMethod[] {
    return methods.filter((method) => kinds.includes(method.kind));
  }

  /** The methods this user can log in with (recovery codes included when any are left). */
  async function listEnrolledMethods(userId: number): Promise<SecondFactorMethod[]> {
    return methodsOf(await findEnrolledKinds(userId));
  }

  /** Whether the user has a real second factor (recovery codes alone do not count). */
  async function hasSecondFactor(userId: number): Promise<boolean> {
    return includesSecondFactor(await findEnrolledKinds(userId));
  }

  async function beginLoginAttempt(userId: number): Promise<string> {
    const id = randomBytes(24).toString("base64url");
    const now = clock.now();
    await db.query("INSERT INTO login_attempts (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)", [
      id,
      userId,
      now,
      addMinutes(now, attemptLifetimeMinutes),
    ]);
    return id;
  }

  /** The attempt when it belongs to this user and is still open. */
  async function findOpenAttempt(attemptId: string | undefined, userId: number): Promise<LoginAttempt | null> {
    if (!attemptId) return null;
    const { rows } = await db.query(
      "SELECT * FROM login_attempts WHERE id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $3",
      [attemptId, userId, clock.now()],
    );
    return rows[0] ? mapAttempt(rows[0]) : null;
  }

  async function findAttempt(attemptId: string): Promise<LoginAttempt | null> {
    const { rows } = await db.query("SELECT * FROM login_attempts WHERE id = $1", [attemptId]);
    return rows[0] ? mapAttempt(rows[0]) : null;
  }

  async function findLockedUntil(userId: number): Promise<Date | null> {
    const { rows } = await db.query("SELECT second_factor_locked_until AS until FROM users WHERE id = $1", [userId]);
    const until = (rows[0]?.until as Date | null) ?? null;
    return until && until > clock.now() ? until : null;
  }

  /** Counts a wrong code against the attempt and the account; voids or locks at the limits. */
  async function recordWrongCode(
    userId: number,
    attemptId: string | null,
    kind: MethodKind,
    context: RequestContext,
  ): Promise<VerifyResult> {
    const now = clock.now();
    const outcome = await db.transaction(async (tx): Promise<VerifyResult> => {
      const account = await tx.query(
        "UPDATE users SET second_factor_failures = second_factor_failures + 1 WHERE id = $1 RETURNING second_factor_failures AS n",
        [userId],
      );
      const accountFailures = Number(account.rows[0]?.n ?? 0);
      let attemptFailures = 0;
      if (attemptId) {
        const attempt = await tx.query(
          "UPDATE login_attempts SET failed_codes = failed_codes + 1 WHERE id = $1 AND status = 'pending' RETURNING failed_codes AS n",
          [attemptId],
        );
        attemptFailures = Number(attempt.rows[0]?.n ?? wrongCodesPerAttempt);
      }
      await audit.recordEvent(
        { type: "2fa.code_refused", actorUserId: userId, subjectUserId: userId, details: { method: kind } },
        context,
        tx,
      );
      if (accountFailures >= wrongCodesBeforeLock) {
        const until = addMinutes(now, lockMinutes);
        await tx.query("UPDATE users SET second_factor_locked_until = $2, second_factor_failures = 0 WHERE id = $1", [
          userId,
          until,
        ]);
        if (attemptId)
          await tx.query("UPDATE login_attempts SET status = 'voided', finished_at = $2 WHERE id = $1", [attemptId, now]);
        await audit.recordEvent(
          { type: "2fa.locked", subjectUserId: userId, details: { until: until.toISOString() } },
          context,
          tx,
        );
        return { status: "locked", until };
      }
      if (attemptId && attemptFailures >= wrongCodesPerAttempt) {
        await tx.query("UPDATE login_attempts SET status = 'voided', finished_at = $2 WHERE id = $1", [attemptId, now]);
        await audit.recordEvent({ type: "2fa.attempt_voided", subjectUserId: userId, details: { method: kind } }, context, tx);
        return { status: "voided" };
      }
      return {
        status: "wrong_code",
        attemptsLeft: attemptId ? wrongCodesPerAttempt - attemptFailures : wrongCodesBeforeLock - accountFailures,
      };
    });
    return outcome;
  }

  async function recordCodeAccepted(userId: number, kind: MethodKind, context: RequestContext, tx: Queryable = db) {
    // A right code proves the factor: the count of wrong ones, and a lock they set, go.
    await tx.query("UPDATE users SET second_factor_failures = 0, second_factor_locked_until = NULL WHERE id = $1", [userId]);
    await audit.recordEvent(
      {
        type: kind === "recovery" ? "2fa.recovery_code_used" : "2fa.code_accepted",
        actorUserId: userId,
        subjectUserId: userId,
        details: { method: kind },
      },
      context,
      tx,
    );
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
  ): Promise<
    { ok: true; accountFailures: number; attemptFailures: number; lockedUntil: Date | null } | { ok: false; result: VerifyResult }
  > {
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
          accountFailures: lockedUntil ? wrongCodesBeforeLock : Number(row.n),
          attemptFailures,
          lockedUntil,
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
    reserved: { accountFailures: number; attemptFailures: number; lockedUntil: Date | null },
    context: RequestContext,
  ): Promise<VerifyResult> {
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
   * Checks a typed response (app code, SMS code, recovery code) for an open login attempt.
   * On success the attempt is passed, exactly once.
   */
  async function verifyLoginResponse(
    input: { userId: number; attemptId: string | undefined; kind: string; response: string },
    context: RequestContext,
  ): Promise<VerifyResult> {
    const method = findMethod(input.kind);
    if (!method || !input.attemptId) return { status: "invalid_attempt" };
    const reserved = await reserveCodeTry(input.userId, input.attemptId);
    if (!reserved.ok) return reserved.result;

    const isRight = await method.verifyResponse({ userId: input.userId, attemptId: input.attemptId, response: input.response });
    if (!isRight) return settleWrongCode(input.userId, input.attemptId, method.kind, reserved, context);

    const passed = await passAttempt(input.attemptId, input.userId, method.kind, context);
    return passed ? { status: "passed", method: method.kind } : { status: "invalid_attempt" };
  }

  /** Marks the attempt passed if it is still open; true for the one caller that did it. */
  async function passAttempt(attemptId: string, userId: number, kind: MethodKind, context: RequestContext): Promise<boolean> {
    return db.transaction(async (tx) => {
      // Rows are locked in one order everywhere (the user, then the attempt), so this and a
      // parallel wrong code or an admin reset cannot deadlock.
      await tx.query("SELECT id FROM users WHERE id = $1 FOR UPDATE", [userId]);
      const { rowCount } = await tx.query(
        "UPDATE login_attempts SET status = 'passed', finished_at = $3 WHERE id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $3",
        [attemptId, userId, clock.now()],
      );
      if (rowCount !== 1) return false;
      await recordCodeAccepted(userId, kind, context, tx);
      return true;
    });
  }

  /**
   * Checks a code outside a login (step-up). Counted toward the account lock like a login code.
   */
  async function verifyFreshResponse(
    input: { userId: number; kind: string; response: string },
    context: RequestContext,
  ): Promise<VerifyResult> {
    const method = findMethod(input.kind);
    if (!method) return { status: "invalid_attempt" };
    const reserved = await reserveCodeTry(input.userId, null);
    if (!reserved.ok) return reserved.result;
    const isRight = await method.verifyResponse({ userId: input.userId, attemptId: "", response: input.response });
    if (!isRight) return settleWrongCode(input.userId, null, method.kind, reserved, context);
    await recordCodeAccepted(input.userId, method.kind, context);
    return { status: "passed", method: method.kind };
  }

  /** The factor the user last logged in with: the one the security page calls the default. */
  async function findLastUsedMethod(userId: number): Promise<SecondFactorMethod | null> {
    const { rows } = await db.query(
      `SELECT details ->> 'method' AS method FROM audit_events
       WHERE subject_user_id = $1 AND event_type = 'login.succeeded' AND details ->> 'method' IN ('app', 'sms', 'call', 'recovery')
       ORDER BY occurred_at DESC, id DESC LIMIT 1`,
      [userId],
    );
    const method = rows[0] ? findMethod(String(rows[0].method)) : undefined;
    return method && method.kind !== "recovery" && (await method.isEnrolled(userId)) ? method : null;
  }

  /** Removes one method of a user (their own choice), in one transaction with its audit event. */
  async function removeMethod(userId: number, kind: MethodKind, context: RequestContext): Promise<void> {
    const method = findMethod(kind);
    if (!method) return;
    await db.transaction(async (tx) => {
      await method.removeForUser(userId, tx);
      await audit.recordEvent(
        { type: "2fa.removed", actorUserId: userId, subjectUserId: userId, details: { method: kind } },
        context,
        tx,
      );
    });
  }

  /**
   * Removes every factor, recovery code and open login attempt of the user (admin reset, or
   * removing the last factor). Runs inside the caller's transaction.
   */
  async function removeAllFactors(userId: number, tx: Queryable): Promise<void> {
    for (const method of methods) await method.removeForUser(userId, tx);
    await tx.query("UPDATE login_attempts SET status = 'voided', finished_at = $2 WHERE user_id = $1 AND status = 'pending'", [
      userId,
      clock.now(),
    ]);
    await tx.query("UPDATE users SET second_factor_failures = 0, second_factor_locked_until = NULL WHERE id = $1", [userId]);
  }

  return {
    methods,
    findMethod,
    methodsOf,
    listEnrolledMethods,
    hasSecondFactor,
    beginLoginAttempt,
    findOpenAttempt,
    findAttempt,
    findLockedUntil,
    findLastUsedMethod,
    verifyLoginResponse,
    verifyFreshResponse,
    passAttempt,
    recordWrongCode,
    removeMethod,
    removeAllFactors,
  };
}
