import type { Database } from "../db/database.js";
import type { SecondFactor } from "../methods/method.js";
import type { Clock } from "./clock.js";

/**
 * How long records that only serve a login in progress are kept. Finished login attempts and
 * phone challenges are kept a week, well past the longest window that reads them (the daily
 * send limits), for questions about a recent login; the audit log keeps the security events
 * themselves for good.
 */
export const retentionDays = { loginAttempts: 7, devOutbox: 7 };

/** How often a running portal prunes. */
export const pruneIntervalMs = 15 * 60_000;

export type PruneCounts = Record<
  "sessions" | "loginAttempts" | "rateLimits" | "devOutbox" | "rememberedBrowsers" | "ipBlocks",
  number
> &
  // What each factor pruned of its own (a phone's challenges, an app's unfinished enrolments).
  Record<string, number>;

export type Retention = ReturnType<typeof createRetention>;

export function createRetention({
  db,
  clock,
  recordEndedIpBlocks,
  factors,
}: {
  db: Database;
  clock: Clock;
  /** Each factor removes what it keeps only for a login or an enrolment in progress. */
  factors: readonly Pick<SecondFactor, "pruneExpired">[];
  /** Closes the login blocks of addresses that are over, each with its audit event (services/login.ts). */
  recordEndedIpBlocks: () => Promise<number>;
}) {
  /** Removes what has expired; several instances may run it at once. Returns how many rows went. */
  async function pruneExpiredRecords(): Promise<PruneCounts> {
    const now = clock.now();
    const daysAgo = (days: number) => new Date(now.getTime() - days * 24 * 60 * 60_000);
    // The session store and the rate limiter stamp their rows with the server's real time.
    const sessions = await db.query("DELETE FROM session WHERE expire < now()");
    const rateLimits = await db.query(
      "DELETE FROM rate_limits WHERE expire IS NOT NULL AND expire < (extract(epoch FROM now()) * 1000)::bigint",
    );
    // Each factor's records of logins and enrolments in progress, kept as long as the attempts.
    const factorCounts: Record<string, number> = {};
    for (const factor of factors)
      Object.assign(factorCounts, await factor.pruneExpired?.(now, daysAgo(retentionDays.loginAttempts)));
    // A login attempt's remaining challenges go with it (ON DELETE CASCADE).
    const loginAttempts = await db.query("DELETE FROM login_attempts WHERE expires_at < $1", [
      daysAgo(retentionDays.loginAttempts),
    ]);
    const devOutbox = await db.query("DELETE FROM phone_outbox WHERE created_at < $1", [daysAgo(retentionDays.devOutbox)]);
    const rememberedBrowsers = await db.query("DELETE FROM remembered_browsers WHERE expires_at < $1", [now]);
    const ipBlocks = await recordEndedIpBlocks();
    return {
      ...factorCounts,
      sessions: sessions.rowCount,
      loginAttempts: loginAttempts.rowCount,
      rateLimits: rateLimits.rowCount,
      devOutbox: devOutbox.rowCount,
      rememberedBrowsers: rememberedBrowsers.rowCount,
      ipBlocks,
    };
  }

  return { pruneExpiredRecords };
}
