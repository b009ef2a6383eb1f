import type { Database } from "../db/database.js";
import type { Clock } from "./clock.js";

/**
 * How long records that only serve a login in progress are kept. Finished login attempts and
 * phone challenges are kept a week, well past the longest window that reads them (the daily
 * send limits), for questions about a recent login; the audit log keeps the security events
 * themselves for good.
 */
export const retentionDays = { loginAttempts: 7, phoneChallenges: 7, devOutbox: 7 };

/** How often a running portal prunes. */
export const pruneIntervalMs = 15 * 60_000;

export type PruneCounts = Record<
  | "sessions"
  | "loginAttempts"
  | "phoneChallenges"
  | "appEnrolments"
  | "rateLimits"
  | "devOutbox"
  | "rememberedBrowsers"
  | "ipBlocks",
  number
>;

export type Retention = ReturnType<typeof createRetention>;

export function createRetention({
  db,
  clock,
  recordEndedIpBlocks,
}: {
  db: Database;
  clock: Clock;
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
    const phoneChallenges = await db.query("DELETE FROM phone_challenges WHERE created_at < $1", [
      daysAgo(retentionDays.phoneChallenges),
    ]);
    // A login attempt's remaining challenges go with it (ON DELETE CASCADE).
    const loginAttempts = await db.query("DELETE FROM login_attempts WHERE expires_at < $1", [
      daysAgo(retentionDays.loginAttempts),
    ]);
    const appEnrolments = await db.query("DELETE FROM totp_enrolments WHERE expires_at < $1", [now]);
    const devOutbox = await db.query("DELETE FROM phone_outbox WHERE created_at < $1", [daysAgo(retentionDays.devOutbox)]);
    const rememberedBrowsers = await db.query("DELETE FROM remembered_browsers WHERE expires_at < $1", [now]);
    const ipBlocks = await recordEndedIpBlocks();
    return {
      sessions: sessions.rowCount,
      loginAttempts: loginAttempts.rowCount,
      phoneChallenges: phoneChallenges.rowCount,
      appEnrolments: appEnrolments.rowCount,
      rateLimits: rateLimits.rowCount,
      devOutbox: devOutbox.rowCount,
      rememberedBrowsers: rememberedBrowsers.rowCount,
      ipBlocks,
    };
  }

  return { pruneExpiredRecords };
}
