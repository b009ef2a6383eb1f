import type { Queryable } from "../../db/database.js";
import { maskPhoneNumber } from "../phone-numbers.js";

// The only file of the admin area that names the tables of particular second factors: the user
// list's "two-step login on/off", and what a user's page shows of each factor. A factor stored in
// a table of its own is added here.

/**
 * SQL, for a query over `users u`: whether that user has a real second factor (recovery codes
 * alone do not count). For the user list and its filter, where asking each user's methods one by
 * one would cost a query per row.
 */
export const hasSecondFactorSql = `(EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id)
  OR EXISTS (SELECT 1 FROM phone_factors p WHERE p.user_id = u.id))`;

/** One second factor a user has set up, as an admin sees it. */
export interface FactorFact {
  /** "app", or "phone" (one verified number serves both SMS and call). */
  kind: string;
  /**
   * Enough for the admin to recognise it together with the user, never the secret itself (a
   * phone number masked to its last 2 digits); null when there is nothing to show.
   */
  hint: string | null;
  /** When it was set up (the app) or proven (a phone number). */
  since: Date;
}

export interface FactorFacts {
  /** In the order the user's page lists them. */
  factors: FactorFact[];
  recoveryCodesLeft: number;
}

/** What the user's factors are and since when, in one query. */
export async function readFactorFacts(db: Queryable, userId: number): Promise<FactorFacts> {
  const { rows } = await db.query(
    `SELECT (SELECT enrolled_at FROM totp_factors WHERE user_id = $1) AS app_enrolled_at,
       p.phone_e164, p.verified_at AS phone_verified_at,
       (SELECT count(*)::int FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS recovery_codes_left
     FROM (SELECT 1) AS one LEFT JOIN phone_factors p ON p.user_id = $1`,
    [userId],
  );
  const row = rows[0] ?? {};
  const factors: FactorFact[] = [];
  if (row.app_enrolled_at) factors.push({ kind: "app", hint: null, since: row.app_enrolled_at as Date });
  // Masked: an admin recognises the number with the user, never reads it out to a caller.
  if (row.phone_e164) {
    factors.push({ kind: "phone", hint: maskPhoneNumber(String(row.phone_e164)), since: row.phone_verified_at as Date });
  }
  return { factors, recoveryCodesLeft: Number(row.recovery_codes_left ?? 0) };
}

/** The user's unused recovery codes; inside a reset's transaction, before they are removed. */
export async function countRecoveryCodesLeft(db: Queryable, userId: number): Promise<number> {
  const { rows } = await db.query("SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", [
    userId,
  ]);
  return Number(rows[0]?.n ?? 0);
}
