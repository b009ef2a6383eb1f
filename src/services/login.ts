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
    if (state && state.consumedPoints >= ipFailureLimit) return new Date(clock.now().getTime() + state.msBeforeNext);
    return null;
  }

  async function recordIpFailure(ip: string): Promise<void> {
    const state = await ipLimiter.penalty(ip, 1);
    if (state.consumedPoints >= ipFailureLimit) await ipLimiter.block(ip, 15 * 60);
  }

  async function recordAccountFailure(user: User): Promise<void> {
    const { rows } = await db.query(
      `UPDATE users SET failed_login_count = failed_login_count + 1 WHERE id = $1 RETURNING failed_login_count`,
      [user.id],
    );
    const failures = Number(rows[0]?.failed_login_count ?? 0);
    const delay = loginDelayMinutes(failures);
    if (delay > 0) {
      const blockedUntil = failures >= failuresBeforeAdminUnlock ? farFuture : addMinutes(clock.now(), delay);
      await db.query(`UPDATE users SET login_blocked_until = $2 WHERE id = $1`, [user.id, blockedUntil]);
    }
  }

  async function logInWithPassword(email: string, password: string, context: RequestContext): Promise<PasswordLoginResult> {
    const ip = context.ip ?? "unknown";
    // The limiter runs before any bcrypt work.
    const retryAt = await findIpBlock(ip);
    if (retryAt) {
      await audit.recordEvent({ type: "login.rate_limited", details: { scope: "ip" } }, context);
      return { ok: false, reason: "rate_limited", retryAt };
    }

    const user = await users.findUserByEmail(email);
    dummyHash ??= createDummyHash(config.bcryptCost);
    const isBlocked = !!user?.loginBlockedUntil && user.loginBlockedUntil > clock.now();
    // Always one bcrypt comparison, so unknown, blocked and known accounts take the same time.
    const matches = await verifyPassword(password, user ? user.passwordHash : await dummyHash);

    if (!user || user.disabledAt || isBlocked || !matches) {
      await recordIpFailure(ip);
      if (user && !user.disabledAt && !isBlocked) await recordAccountFailure(user);
      const why = !user ? "unknown_email" : user.disabledAt ? "disabled" : isBlocked ? "blocked" : "wrong_password";
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

    await db.query(`UPDATE users SET failed_login_count = 0, login_blocked_until = NULL WHERE id = $1`, [user.id]);
    return { ok: true, user: { ...user, failedLoginCount: 0, loginBlockedUntil: null } };
  }

  /** Called once the whole login (password and, if any, second factor) has succeeded. */
  async function recordLoginSuccess(user: User, context: RequestContext, method: string): Promise<void> {
    await db.query(`UPDATE users SET last_login_at = $2 WHERE id = $1`, [user.id, clock.now()]);
    await audit.recordEvent(
      { type: "login.succeeded", actorUserId: user.id, subjectUserId: user.id, details: { method } },
      context,
    );
  }

  return { logInWithPassword, recordLoginSuccess, findIpBlock };
}

/** An unknown email is kept in the audit only as its first letter and domain. */
export function maskEmail(email: string): string {
  const normalised = normaliseEmail(email);
  const at = normalised.lastIndexOf("@");
  if (at < 1) return "•••";
  return `${normalised[0]}•••${normalised.slice(at)}`.slice(0, 100);
}
