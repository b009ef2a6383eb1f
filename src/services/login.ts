import { RateLimiterPostgres } from "rate-limiter-flexible";
import type { Config } from "../config.js";
import type { Database, Queryable } from "../db/database.js";
import type { AuditLog, RequestContext } from "./audit.js";
import { addMinutes, type Clock } from "./clock.js";
import type { PasswordChecks } from "./password-checks.js";
import { createDummyHash, type PasswordVerifier } from "./passwords.js";
import { normaliseEmail, type User, type UserService } from "./users.js";

export type PasswordLoginResult =
  | { ok: true; user: User }
  /** Unknown email, wrong password, disabled or blocked account: one answer for all. */
  | { ok: false; reason: "invalid" }
  /** Too many failures from this client: the only answer that says when to retry. */
  | { ok: false; reason: "rate_limited"; retryAt: Date }
  /** Too many password checks under way: nothing was checked or counted; try again in a moment. */
  | { ok: false; reason: "busy" };

export type PasswordCheckOutcome = "ok" | "wrong" | "blocked" | "busy";

// NIST SP 800-63B 5.2.2: after 5 consecutive failures, wait 1, 2, 4 … 15 minutes between tries;
// after 100, only an admin can unblock the account.
const failuresBeforeDelay = 5;
const maxDelayMinutes = 15;
const failuresBeforeAdminUnlock = 100;
const farFuture = new Date("9999-12-31T00:00:00Z");

const ipFailureLimit = 10;
const ipBlockMinutes = 15;

export type LoginService = ReturnType<typeof createLoginService>;

export function createLoginService({
  db,
  clock,
  config,
  audit,
  users,
  passwordChecks,
  verifyPassword,
}: {
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
  users: UserService;
  /** Admission control: every bcrypt comparison of a login or step-up waits its turn here. */
  passwordChecks: PasswordChecks;
  verifyPassword: PasswordVerifier;
}) {
  // Per client IP: 10 failed logins in 10 minutes block the IP for 15 minutes, in Postgres so
  // that every app instance sees the same count. The limiter counts the failures; the block itself
  // is a row of login_ip_blocks, which also counts the logins refused during it.
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

  /**
   * A login from a blocked address: counted in the block's row, in the one statement that finds
   * the block (no audit row, no session, no password check). Returns when the block ends, or null
   * when the address is not blocked.
   */
  async function refuseBlockedAddress(ip: string): Promise<Date | null> {
    const { rows } = await db.query(
      "UPDATE login_ip_blocks SET refused = refused + 1 WHERE ip = $1 AND blocked_until > $2 RETURNING blocked_until",
      [ip, clock.now()],
    );
    return (rows[0]?.blocked_until as Date | undefined) ?? null;
  }

  /**
   * Records the end of every block that is over (or only this address's): one audit event each,
   * with how many logins it refused, and the row goes. Called by the pruning job, and before a new
   * block of the same address starts. Several instances may run it at once: each row goes once.
   */
  async function recordEndedIpBlocks(ip: string | null = null, tx?: Queryable): Promise<number> {
    const record = async (q: Queryable) => {
      const { rows } = await q.query(
        `DELETE FROM login_ip_blocks WHERE blocked_until <= $1 AND ($2::text IS NULL OR ip = $2)
         RETURNING ip, started_at, blocked_until, refused`,
        [clock.now(), ip],
      );
      for (const row of rows) {
        const details = {
          from: (row.started_at as Date).toISOString(),
          until: (row.blocked_until as Date).toISOString(),
          refused: Number(row.refused),
        };
        await audit.recordEvent({ type: "login.ip_block_ended", details }, { ip: String(row.ip), userAgent: undefined }, q);
      }
      return rows.length;
    };
    return tx ? record(tx) : db.transaction(record);
  }

  /**
   * The address is over its limit: blocks it for 15 minutes, with one audit event that says until
   * when. Of requests over the limit at the same moment, one starts the block; the others are
   * counted as refused by it. Returns when the block ends.
   */
  async function blockAddress(ip: string, context: RequestContext): Promise<Date> {
    const now = clock.now();
    const until = addMinutes(now, ipBlockMinutes);
    return db.transaction(async (tx) => {
      await recordEndedIpBlocks(ip, tx);
      const started = await tx.query(
        "INSERT INTO login_ip_blocks (ip, started_at, blocked_until) VALUES ($1, $2, $3) ON CONFLICT (ip) DO NOTHING RETURNING ip",
        [ip, now, until],
      );
      if (started.rowCount === 1) {
        await audit.recordEvent({ type: "login.ip_blocked", details: { until: until.toISOString() } }, context, tx);
        return until;
      }
      const counted = await tx.query("UPDATE login_ip_blocks SET refused = refused + 1 WHERE ip = $1 RETURNING blocked_until", [
        ip,
      ]);
      return (counted.rows[0]?.blocked_until as Date | undefined) ?? until;
    });
  }

  /**
   * Takes one of the IP's 10 tries before the password is checked, atomically in Postgres, so
   * that requests sent in parallel cannot all pass a check made before any of them failed. A
   * success gives the try back. Returns when the IP may try again if none is left.
   */
  async function reserveIpTry(ip: string, context: RequestContext): Promise<Date | null> {
    try {
      await ipLimiter.consume(ip, 1);
      return null;
    } catch (error) {
      if (error instanceof Error) throw error;
      return blockAddress(ip, context);
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
   * Checks a user's password with the account's limits. Always one bcrypt comparison, so blocked
   * and open accounts take the same time.
   */
  async function checkAccountPassword(user: User, password: string): Promise<"ok" | "wrong" | "blocked"> {
    const isOpen = await reserveAccountTry(user.id);
    const matches = await verifyPassword(password, user.passwordHash);
    if (!isOpen) return "blocked";
    if (!matches) return "wrong";
    await db.query("UPDATE users SET failed_login_count = 0, login_blocked_until = NULL WHERE id = $1", [user.id]);
    return "ok";
  }

  /** The password of a signed-in user (step-up, password change), with the account's limits, in turn. */
  async function checkPasswordLimited(user: User, password: string): Promise<PasswordCheckOutcome> {
    const admitted = await passwordChecks.admit(`user:${user.id}`, () => checkAccountPassword(user, password));
    return admitted.status === "busy" ? "busy" : admitted.value;
  }

  /**
   * Every login waits for its turn the same way, whatever the email turns out to be (unknown,
   * disabled, wrong or right password), so the wait tells nothing; "busy" before any try is counted.
   */
  async function logInWithPassword(email: string, password: string, context: RequestContext): Promise<PasswordLoginResult> {
    const client = context.clientKey ?? context.ip ?? "unknown";
    const admitted = await passwordChecks.admit(`client:${client}`, () => checkLogin(email, password, context));
    return admitted.status === "busy" ? { ok: false, reason: "busy" } : admitted.value;
  }

  async function checkLogin(email: string, password: string, context: RequestContext): Promise<PasswordLoginResult> {
    const ip = context.clientKey ?? context.ip ?? "unknown";
    // The limiter runs before any bcrypt work. A blocked address is normally refused before the
    // session is read (refuseBlockedAddress); this catches the tries that were already under way.
    const retryAt = await reserveIpTry(ip, context);
    if (retryAt) return { ok: false, reason: "rate_limited", retryAt };

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
      outcome = await checkAccountPassword(user, password);
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

  /**
   * Called once the whole login (password and, if any, second factor) has succeeded. A user who
   * has chosen no language yet keeps the one the login pages were shown in (context.locale), in
   * the same statement: from then on it is theirs, on every browser, and their SMS and calls use it.
   */
  async function recordLoginSuccess(
    user: User,
    context: RequestContext,
    method: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await db.query(`UPDATE users SET last_login_at = $2, locale = COALESCE(locale, $3) WHERE id = $1`, [
      user.id,
      clock.now(),
      context.locale ?? null,
    ]);
    await audit.recordEvent(
      { type: "login.succeeded", actorUserId: user.id, subjectUserId: user.id, details: { ...details, method } },
      context,
    );
  }

  return { logInWithPassword, checkPasswordLimited, recordLoginSuccess, refuseBlockedAddress, recordEndedIpBlocks };
}

/** An unknown email is kept in the audit only as its first letter and domain. */
function maskEmail(email: string): string {
  const normalised = normaliseEmail(email);
  const at = normalised.lastIndexOf("@");
  if (at < 1) return "•••";
  return `${normalised[0]}•••${normalised.slice(at)}`.slice(0, 100);
}
