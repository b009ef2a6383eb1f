import { randomBytes } from "node:crypto";
import type { Database, Queryable } from "../../db/database.js";
import type { AuditLog, RequestContext } from "../audit.js";
import { addMinutes, type Clock } from "../clock.js";
import type { CodeCheck, CodeTries, RefusedCode } from "./code-tries.js";
import type { MethodKind, ResponseCheck, SecondFactorMethod } from "./method.js";

export type { MethodKind, SecondFactorMethod } from "./method.js";

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

/** Passing an attempt: done, refused because two-step login is locked, or the attempt is over. */
export type PassResult =
  | { status: "passed"; method: MethodKind }
  | { status: "locked"; until: Date }
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
  methods,
}: {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  codeTries: CodeTries;
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

  /** Audits a right code and ends the run of wrong ones (a lock stays: only expiry or an admin lifts it). */
  async function recordCodeAccepted(userId: number, kind: MethodKind, context: RequestContext, tx: Queryable = db) {
    await tx.query("UPDATE users SET second_factor_failures = 0 WHERE id = $1", [userId]);
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
   * Checks a typed response (app code, SMS code, recovery code) for an open login attempt: its
   * format first, then counted (see checkCode). On success the attempt is passed, exactly once.
   */
  async function verifyLoginResponse(
    input: { userId: number; attemptId: string | undefined; kind: string; response: string },
    context: RequestContext,
  ): Promise<VerifyResult> {
    const method = findMethod(input.kind);
    if (!method || !input.attemptId) return { status: "invalid_attempt" };
    const attemptId = input.attemptId;
    const response = method.normaliseResponse(input.response);
    if (response === null) return { status: "malformed" };
    const checked = await codeTries.checkCode(
      { userId: input.userId, attemptId, kind: method.kind },
      async () => asCodeCheck(await method.verifyResponse({ userId: input.userId, attemptId, response })),
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
   * Checks a code outside a login (step-up). Counted toward the account lock like a login code.
   */
  async function verifyFreshResponse(
    input: { userId: number; kind: string; response: string },
    context: RequestContext,
  ): Promise<VerifyResult> {
    const method = findMethod(input.kind);
    if (!method) return { status: "invalid_attempt" };
    const response = method.normaliseResponse(input.response);
    if (response === null) return { status: "malformed" };
    const checked = await codeTries.checkCode(
      { userId: input.userId, attemptId: null, kind: method.kind },
      async () => asCodeCheck(await method.verifyResponse({ userId: input.userId, attemptId: "", response })),
      context,
    );
    if (checked.status !== "right") return checked;
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
    findLockedUntil: codeTries.findLockedUntil,
    findLastUsedMethod,
    verifyLoginResponse,
    verifyFreshResponse,
    passAttempt,
    removeMethod,
    removeAllFactors,
  };
}
