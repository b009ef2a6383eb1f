import type { Queryable } from "../../db/database.js";

/** What keeps a user out now: a login block after wrong passwords, a code lock after wrong codes. */
export interface LockState {
  failedLoginCount: number;
  secondFactorFailures: number;
  /** Set only while the block or lock is in force. */
  loginBlockedUntil: Date | null;
  secondFactorLockedUntil: Date | null;
}

/** The user's lock state at `now`; null when there is no such user. */
export async function readLockState(db: Queryable, userId: number, now: Date): Promise<LockState | null> {
  const { rows } = await db.query(
    `SELECT failed_login_count, login_blocked_until, second_factor_failures, second_factor_locked_until
     FROM users WHERE id = $1`,
    [userId],
  );
  const row = rows[0];
  if (!row) return null;
  const blocked = (row.login_blocked_until as Date | null) ?? null;
  const locked = (row.second_factor_locked_until as Date | null) ?? null;
  return {
    failedLoginCount: Number(row.failed_login_count),
    secondFactorFailures: Number(row.second_factor_failures),
    loginBlockedUntil: blocked && blocked > now ? blocked : null,
    secondFactorLockedUntil: locked && locked > now ? locked : null,
  };
}
