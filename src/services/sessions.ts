import { isLocale, type Locale } from "../config.js";
import type { Database, Queryable } from "../db/database.js";
import type { AuditLog, RequestContext } from "./audit.js";
import { mapSignedInUser, type SignedInUser, signedInUserColumns } from "./users.js";

// Sessions are stored by connect-pg-simple in the `session` table; the user id lives in the JSON,
// and in the generated, indexed column user_id (migrations/0008_session_user.sql).

export type SessionService = ReturnType<typeof createSessionService>;

/** A stored session as the session store hands it over, with its user (null for a visitor's). */
export interface LoadedSession {
  data: Record<string, unknown>;
  signedIn: SignedInUser | null;
  /** The language the user chose (users.locale); null for a visitor or a user who chose none. */
  locale: Locale | null;
}

export function createSessionService({ db, audit }: { db: Database; audit?: AuditLog }) {
  /**
   * Reads a live session and, in the same statement, its user, the user's second factors and
   * language: a signed-in page needs nothing else to decide who may see it and how to word it.
   */
  async function findSessionWithUser(sid: string): Promise<LoadedSession | null> {
    const { rows } = await db.query(
      `SELECT s.sess, u.locale AS user_locale, ${signedInUserColumns}
       FROM session s LEFT JOIN users u ON u.id = s.user_id
       WHERE s.sid = $1 AND s.expire >= now()`,
      [sid],
    );
    const row = rows[0];
    if (!row) return null;
    const data = (typeof row.sess === "string" ? JSON.parse(row.sess) : row.sess) as Record<string, unknown>;
    return {
      data,
      signedIn: row.id == null ? null : mapSignedInUser(row),
      locale: isLocale(row.user_locale) ? row.user_locale : null,
    };
  }

  /**
   * Ends every session of the user except the one given (null: all of them). The rows go, and the
   * user's session generation goes up, so that a request still in flight cannot bring its session
   * back. The kept session must take the new `generation`. Returns how many ended.
   */
  async function invalidateUserSessions(
    userId: number,
    exceptSessionId: string | null = null,
    tx: Queryable = db,
  ): Promise<{ count: number; generation: number }> {
    const raised = await tx.query(
      "UPDATE users SET session_generation = session_generation + 1 WHERE id = $1 RETURNING session_generation",
      [userId],
    );
    const { rowCount } = await tx.query("DELETE FROM session WHERE user_id = $1 AND ($2::text IS NULL OR sid <> $2)", [
      userId,
      exceptSessionId,
    ]);
    return { count: rowCount, generation: Number(raised.rows[0]?.session_generation ?? 0) };
  }

  /**
   * "Sign out everywhere else": every other session of the user ends, audited in the same
   * transaction. The kept session must take the new `generation`.
   */
  async function endOtherSessions(
    userId: number,
    keptSessionId: string,
    context: RequestContext,
  ): Promise<{ count: number; generation: number }> {
    return db.transaction(async (tx) => {
      const ended = await invalidateUserSessions(userId, keptSessionId, tx);
      await audit?.recordEvent(
        { type: "sessions.ended_others", actorUserId: userId, subjectUserId: userId, details: { count: ended.count } },
        context,
        tx,
      );
      return ended;
    });
  }

  async function countUserSessions(userId: number): Promise<number> {
    const { rows } = await db.query("SELECT count(*)::int AS n FROM session WHERE user_id = $1 AND expire > now()", [userId]);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Rewrites a stored session in place, the way connect-pg-simple stores it, only while its row
   * exists: false when it was deleted meanwhile (logout, revocation), which must stay so.
   */
  async function rewriteStoredSession(sid: string, data: object, lifetimeMs: number): Promise<boolean> {
    const { rowCount } = await db.query("UPDATE session SET sess = $2, expire = to_timestamp($3) WHERE sid = $1", [
      sid,
      JSON.stringify(data),
      // The row's own expiry is in real time, as connect-pg-simple writes it; the app's clock
      // decides when a session ends.
      Math.ceil((Date.now() + lifetimeMs) / 1000),
    ]);
    return rowCount === 1;
  }

  return { findSessionWithUser, invalidateUserSessions, endOtherSessions, countUserSessions, rewriteStoredSession };
}
