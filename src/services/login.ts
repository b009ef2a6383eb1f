import { RateLimiterPostgres } from "rate-limiter-flexible";
import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import type { AuditLog, RequestContext } from "./audit.js";
import { addMinutes, type Clock } from "./clock.js";
import { createDummyHash, verifyPassword } from "./passwords.js";
import { normaliseEmail, type User, type UserService } from "./users.js";

export type PasswordLoginResult =
  | { ok: true; user: User }
  /** Unknown email, wrong password, disabled or blocked account: one answer for all. */
  | { ok: false; reason: "invalid" }
  /** Too many failures from this client: the only answer that says when to retry. */
  | { ok: false; reason: "rate_limited"; retryAt: Date };

// NIST SP 800-63B 5.2.2: after 5 consecutive failures, wait 1, 2, 4 … 15 minutes between tries;
// after 100, only an admin can unblock the account.
const failuresBeforeDelay = 5;
const maxDelayMinutes = 15;
const failuresBeforeAdminUnlock = 100;
const farFuture = new Date("9999-12-31T00:00:00Z");

export function loginDelayMinutes(consecutiveFailures: number): number {
  if (consecutiveFailures < failuresBeforeDelay) return 0;
  return Math.min(2 ** (consecutiveFailures - failuresBeforeDelay), maxDelayMinutes);
}

const ipFailureLimit = 10;

export type LoginService = ReturnType<typeof createLoginService>;

export function createLoginService({
  db,
  clock,
  config,
  audit,
  users,
}: {
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
  users: UserService;
}) {
  // Per client IP: 10 failed logins in 10 minutes block the IP for 15 minutes, in Postgres so
  // that every app instance sees the same count.
  const ipLimiter = new RateLimiterPostgres({
    storeClient: db.pool,
    storeType: "pool",
    tableName: "rate_limits",
    tableCreated: true,
    clearExpiredByTimeout: false,
    keyPrefix: "login-ip",
    points: ipFailureLimit,
    duration: 10 * 60,
  });
  let dummyHash: Promise<string> | undefined;

  async function findIpBlock(ip: string): Promise<Date | null> {
    const state = await ipLimiter.get(ip);
    // rate-limiter-flexible keeps its own time; the answer is anchored to the app's clock.
    if (state && state.consumedPoints > ipFailureLimit) return new Date(clock.now().getTime() + state.msBeforeNext);
    return null;
  }

  /**
   * Takes one of the IP's 10 tries before the password is checked, atomically in Postgres, so
   * that requests sent in parallel cannot all pass a check made before any of them failed. A
   * success gives the try back. Returns when the IP may try again if none is left.
   */
  async function reserveIpTry(ip: string): Promise<Date | null> {
    const blocked = await findIpBlock(ip);
    if (blocked) return blocked;
    try {
      await ipLimiter.consume(ip, 1);
      return null;
    } catch (error) {
      if (error instanceof Error) throw error;
      // Over the limit: blocked for 15 minutes from this try.
      await ipLimiter.block(ip, 15 * 60);
      return addMinutes(clock.now(), 15);
    }
  }

  /**
   * Counts this try against the account before the password is checked, and sets the delay as
   * if it will fail; a right password clears both. Returns false when the account is blocked.
   * One conditional UPDATE, so parallel tries are counted one by one.
   */
  async function reserveAccountTry(userId: number): Promise<boolean> {
    const now = clock.now();
    const { rowCount } = await db.query(
      `UPDATE users SET
         failed_login_count = failed_login_count + 1,
         login_blocked_until = CASE
           WHEN failed_login_count + 1 >= $3 THEN $4::timestamptz
           WHEN failed_login_count + 1 >= $5 THEN $2::timestamptz + make_interval(mins => LEAST(power(2, failed_login_count + 1 - $5)::int, $6))
           ELSE NULL END
       WHERE id = $1 AND (login_blocked_until IS NULL OR login_blocked_until <= $2)`,
      [userId, now, failuresBeforeAdminUnlock, farFuture, failuresBeforeDelay, maxDelayMinutes],
    );
    return rowCount === 1;
  }

  /**
   * Checks a user's password with the account's limits, for the login and for step-up. Always
   * one bcrypt comparison, so blocked and open accounts take the same time.
   */
  async function checkPasswordLimited(user: User, password: string): Promise<"ok" | "wrong" | "blocked"> {
    const isOpen = await reserveAccountTry(user.id);
    const matches = await verifyPassword(password, user.passwordHash);
    if (!isOpen) return "blocked";
    if (!matches) return "wrong";
    await db.query("UPDATE users SET failed_login_count = 0, login_blocked_until = NULL WHERE id = $1", [user.id]);
    return "ok";
  }

  async function logInWithPassword(email: string, password: string, context: RequestContext): Promise<PasswordLoginResult> {
    const ip = context.ip ?? "unknown";
    // The limiter runs before any bcrypt work.
    const retryAt = await reserveIpTry(ip);
    if (retryAt) {
      await audit.recordEvent({ type: "login.rate_limited", details: { scope: "ip" } }, context);
      return { ok: false, reason: "rate_limited", retryAt };
    }

    const user = await users.findUserByEmail(email);
    let outcome: "ok" | "wrong" | "blocked" | "unknown_email" | "disabled";
    if (!user) {
      dummyHash ??= createDummyHash(config.bcryptCost);
      await verifyPassword(password, await dummyHash);
      outcome = "unknown_email";
    } else if (user.disabledAt) {
      await verifyPassword(password, user.passwordHash);
      outcome = "disabled";
    } else {
      outcome = await checkPasswordLimited(user, password);
    }

    if (outcome !== "ok" || !user) {
      const why = outcome === "wrong" ? "wrong_password" : outcome;
      await audit.recordEvent(
        {
          type: "login.failed",
          subjectUserId: user?.id ?? null,
          details: { reason: why, email: user ? undefined : maskEmail(email) },
        },
        context,
      );
      return { ok: false, reason: "invalid" };
    }
    // A success does not count against the IP.
    await ipLimiter.reward(ip, 1);
    return { ok: true, user: { ...user, failedLoginCount: 0, loginBlockedUntil: null } };
  }

  /** Called once the whole login (password and, if any, second factor) has succeeded. */
  async function recordLoginSuccess(
    user: User,
    context: RequestContext,
    method: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await db.query(`UPDATE users SET last_login_at = $2 WHERE id = $1`, [user.id, clock.now()]);
    await audit.recordEvent(
      { type: "login.succeeded", actorUserId: user.id, subjectUserId: user.id, details: { ...details, method } },
      context,
    );
  }

  return { logInWithPassword, checkPasswordLimited, recordLoginSuccess, findIpBlock };
}

/** An unknown email is kept in the audit only as its first letter and domain. */
export function maskEmail(email: string): string {
  const normalised = normaliseEmail(email);
  const at = normalised.lastIndexOf("@");
  if (at < 1) return "•••";
  return `${normalised[0]}•••${normalised.slice(at)}`.slice(0, 100);
}
