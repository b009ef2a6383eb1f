import { randomBytes } from "node:crypto";
import type { Database, Queryable } from "../../db/database.js";
import type { LoginMethod, MethodKind, ResponseCheck, SecondFactor } from "../../methods/method.js";
import { enrolledFactorColumns, enrolledKindsOf, includesSecondFactor, methodKinds } from "../../methods/registry.js";
import type { AuditLog, RequestContext } from "../audit.js";
import { addMinutes, type Clock } from "../clock.js";
import type { CodeCheck, CodeTries, RefusedCode } from "./code-tries.js";

export type { LoginMethod, MethodKind, SecondFactor } from "../../methods/method.js";
export { enrolledFactorColumns, enrolledKindsOf, includesSecondFactor } from "../../methods/registry.js";

// A login attempt waits this long for its second factor.
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
  /** Not in the method's format (letters, too few digits): answered without counting a try. */
  | { status: "malformed" }
  /** A code already used (the app still shows the code of the last login): not counted either. */
  | { status: "replayed" }
  | RefusedCode;

/**
 * Removing a factor: done, refused because it is the last one of a user who must have one, or
 * nothing to remove (the user does not have it, or not that item: another user's, or gone already).
 */
export type RemovalResult = { status: "removed"; wasLast: boolean } | { status: "last_factor" } | { status: "not_found" };

/** Passing an attempt: done, refused because two-step login is locked, or the attempt is over. */
export type PassResult =
  | { status: "passed"; method: MethodKind }
  | { status: "locked"; until: Date }
  | { status: "invalid_attempt" };

const asCodeCheck = (check: ResponseCheck): CodeCheck =>
  check === "right" ? { status: "right", value: null } : check === "wrong" ? { status: "wrong" } : { status: "replayed" };

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
  codeTries,
  factors,
}: {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  codeTries: CodeTries;
  /** Every factor, in the registry's order (src/methods/registry.ts). */
  factors: SecondFactor[];
}) {
  const methods = factors.flatMap((factor) => factor.methods);
  const byKind = new Map(methods.map((method) => [method.kind, method]));

  function findMethod(kind: string): LoginMethod | undefined {
    return byKind.get(kind);
  }

  function findFactor(id: string): SecondFactor | undefined {
    return factors.find((factor) => factor.id === id);
  }

  /** The login methods the user has, in the method-choice order (recovery codes when any are left). */
  async function listEnrolledKinds(userId: number, tx: Queryable = db): Promise<MethodKind[]> {
    const { rows } = await tx.query(`SELECT ${enrolledFactorColumns} FROM users u WHERE u.id = $1`, [userId]);
    return rows[0] ? enrolledKindsOf(rows[0]) : [];
  }

  /** Whether the user has a real second factor (recovery codes alone do not count). */
  async function hasSecondFactor(userId: number): Promise<boolean> {
    return includesSecondFactor(await listEnrolledKinds(userId));
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

  /** Audits a right response and ends the run of wrong ones (a lock stays: only expiry or an admin lifts it). */
  async function recordCodeAccepted(userId: number, kind: MethodKind, context: RequestContext, tx: Queryable = db) {
    await tx.query("UPDATE users SET second_factor_failures = 0 WHERE id = $1", [userId]);
    const isBackup = factors.find((factor) => factor.kinds.includes(kind))?.isBackup === true;
    await audit.recordEvent(
      {
        type: isBackup ? "2fa.recovery_code_used" : "2fa.code_accepted",
        actorUserId: userId,
        subjectUserId: userId,
        details: { method: kind },
      },
      context,
      tx,
    );
  }

  /**
   * Checks a response (a typed code, a browser's signed answer) for an open login attempt: its
   * format first, then counted (see checkCode). On success the attempt is passed, exactly once.
   */
  async function verifyLoginResponse(
    input: { userId: number; attemptId: string | undefined; kind: string; response: string; challenge?: string },
    context: RequestContext,
  ): Promise<VerifyResult> {
    const method = findMethod(input.kind);
    if (!method || !input.attemptId) return { status: "invalid_attempt" };
    const attemptId = input.attemptId;
    const response = method.normaliseResponse(input.response);
    if (response === null) return { status: "malformed" };
    const checked = await codeTries.checkCode(
      { userId: input.userId, attemptId, kind: method.kind },
      async () =>
        asCodeCheck(await method.verifyResponse({ userId: input.userId, attemptId, response, challenge: input.challenge })),
      context,
    );
    if (checked.status !== "right") return checked;
    return passAttempt(attemptId, input.userId, method.kind, context);
  }

  /**
   * Marks the attempt passed if it is still open and two-step login is not locked (a phone call
   * approved while locked signs nothing in); the result says so to the one caller that did it.
   */
  async function passAttempt(attemptId: string, userId: number, kind: MethodKind, context: RequestContext): Promise<PassResult> {
    const now = clock.now();
    return db.transaction(async (tx) => {
      // Rows are locked in one order everywhere (the user, then the attempt), so this and a
      // parallel wrong code or an admin reset cannot deadlock.
      const { rows } = await tx.query("SELECT second_factor_locked_until AS until FROM users WHERE id = $1 FOR UPDATE", [userId]);
      const lockedUntil = (rows[0]?.until as Date | null) ?? null;
      if (lockedUntil && lockedUntil > now) return { status: "locked" as const, until: lockedUntil };
      const { rowCount } = await tx.query(
        "UPDATE login_attempts SET status = 'passed', finished_at = $3 WHERE id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $3",
        [attemptId, userId, now],
      );
      if (rowCount !== 1) return { status: "invalid_attempt" as const };
      await recordCodeAccepted(userId, kind, context, tx);
      return { status: "passed" as const, method: kind };
    });
  }

  /**
   * Checks a response outside a login (step-up). Counted toward the account lock like a login code.
   */
  async function verifyFreshResponse(
    input: { userId: number; kind: string; response: string; challenge?: string },
    context: RequestContext,
  ): Promise<VerifyResult> {
    const method = findMethod(input.kind);
    if (!method) return { status: "invalid_attempt" };
    const response = method.normaliseResponse(input.response);
    if (response === null) return { status: "malformed" };
    const checked = await codeTries.checkCode(
      { userId: input.userId, attemptId: null, kind: method.kind },
      async () =>
        asCodeCheck(await method.verifyResponse({ userId: input.userId, attemptId: "", response, challenge: input.challenge })),
      context,
    );
    if (checked.status !== "right") return checked;
    await recordCodeAccepted(input.userId, method.kind, context);
    return { status: "passed", method: method.kind };
  }

  /**
   * The method the user last logged in with, when its factor is still set up: the one the login
   * page suggests. A login with a backup (a recovery code) suggests nothing.
   */
  async function findLastUsedKind(userId: number): Promise<MethodKind | null> {
    const { rows } = await db.query(
      `SELECT details ->> 'method' AS method FROM audit_events
       WHERE subject_user_id = $1 AND event_type = 'login.succeeded' AND details ->> 'method' = ANY($2::text[])
       ORDER BY occurred_at DESC, id DESC LIMIT 1`,
      [userId, methodKinds],
    );
    const kind = rows[0] ? String(rows[0].method) : null;
    if (!kind) return null;
    const enrolled = await listEnrolledKinds(userId);
    return enrolled.includes(kind) && includesSecondFactor([kind]) ? kind : null;
  }

  /**
   * Removes a factor the user chose to remove (one item of it when `item` is given: one passkey),
   * with its audit event, in one transaction. The last real factor of a user who must have one
   * stays; when no real factor is left, the recovery codes go too.
   */
  async function removeFactor(
    input: { userId: number; factorId: string; item?: string; isSecondFactorRequired: boolean },
    context: RequestContext,
  ): Promise<RemovalResult> {
    const factor = findFactor(input.factorId);
    if (!factor) return { status: "not_found" };
    return db
      .transaction(async (tx): Promise<RemovalResult> => {
        await tx.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [input.userId]);
        // Nothing removed is nothing to record, warn about or end sessions for.
        if (!(await factor.remove(input.userId, tx, input.item))) return { status: "not_found" };
        const isLast = !includesSecondFactor(await listEnrolledKinds(input.userId, tx));
        if (isLast && input.isSecondFactorRequired) throw new LastFactorRefusal();
        await audit.recordEvent(
          {
            type: "2fa.removed",
            actorUserId: input.userId,
            subjectUserId: input.userId,
            details: { method: factor.id, ...(input.item ? { item: input.item } : {}) },
          },
          context,
          tx,
        );
        if (isLast) {
          for (const backup of factors.filter((other) => other.isBackup)) {
            await backup.remove(input.userId, tx);
            await audit.recordEvent(
              { type: "2fa.removed", actorUserId: input.userId, subjectUserId: input.userId, details: { method: backup.id } },
              context,
              tx,
            );
          }
        }
        return { status: "removed" as const, wasLast: isLast };
      })
      .catch((error: unknown) => {
        // Thrown to roll the removal back; the caller gets an outcome.
        if (error instanceof LastFactorRefusal) return { status: "last_factor" as const };
        throw error;
      });
  }

  /**
   * Removes every factor, recovery code and open login attempt of the user (admin reset). Runs
   * inside the caller's transaction.
   */
  async function removeAllFactors(userId: number, tx: Queryable): Promise<void> {
    for (const factor of factors) await factor.remove(userId, tx);
    await tx.query("UPDATE login_attempts SET status = 'voided', finished_at = $2 WHERE user_id = $1 AND status = 'pending'", [
      userId,
      clock.now(),
    ]);
    await tx.query("UPDATE users SET second_factor_failures = 0, second_factor_locked_until = NULL WHERE id = $1", [userId]);
  }

  return {
    factors,
    findMethod,
    findFactor,
    listEnrolledKinds,
    hasSecondFactor,
    beginLoginAttempt,
    findOpenAttempt,
    findAttempt,
    findLockedUntil: codeTries.findLockedUntil,
    findLastUsedKind,
    verifyLoginResponse,
    verifyFreshResponse,
    passAttempt,
    removeFactor,
    removeAllFactors,
  };
}

/** Rolls back a removal that would leave a user who must have a second factor without one. */
class LastFactorRefusal extends Error {}
