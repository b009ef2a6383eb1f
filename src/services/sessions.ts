import type { Database } from "../db/database.js";

// Sessions are stored by connect-pg-simple in the `session` table; the user id lives in the JSON.

export type SessionService = ReturnType<typeof createSessionService>;

export function createSessionService({ db }: { db: Database }) {
  /** Ends every session of the user except the one given (null: all of them). Returns how many. */
  async function invalidateUserSessions(userId: number, exceptSessionId: string | null = null): Promise<number> {
    const { rowCount } = await db.query(
      `DELETE FROM session WHERE (sess::jsonb ->> 'userId') = $1 AND ($2::text IS NULL OR sid <> $2)`,
      [String(userId), exceptSessionId],
    );
    return rowCount;
  }

  async function countUserSessions(userId: number): Promise<number> {
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM session WHERE (sess::jsonb ->> 'userId') = $1 AND expire > now()`,
      [String(userId)],
    );
    return Number(rows[0]?.n ?? 0);
  }

  return { invalidateUserSessions, countUserSessions };
}
