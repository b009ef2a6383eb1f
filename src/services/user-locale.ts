import type { Locale } from "../config.js";
import type { Database } from "../db/database.js";

export type UserLocales = ReturnType<typeof createUserLocales>;

/**
 * The language a user chose for the portal's pages, SMS and calls (users.locale). It is read with
 * the session (services/sessions.ts) and with a phone challenge (two-factor/phone.ts), and saved
 * at the first login (services/login.ts, or keepFirstUserLocale) when the user has none yet.
 */
export function createUserLocales({ db }: { db: Database }) {
  /** The language switch, used while signed in: the choice follows the user to other browsers. */
  async function saveUserLocale(userId: number, locale: Locale): Promise<void> {
    await db.query("UPDATE users SET locale = $2 WHERE id = $1", [userId, locale]);
  }

  /**
   * A first login's language, for a user who has chosen none: kept when the password leads to the
   * set-up of a first second factor, since the password is all such an account has (a user with a
   * second factor keeps it only once that step passes, services/login.ts). The code SMS sent
   * during that set-up is then in the language of its pages.
   */
  async function keepFirstUserLocale(userId: number, locale: Locale): Promise<void> {
    await db.query("UPDATE users SET locale = COALESCE(locale, $2) WHERE id = $1", [userId, locale]);
  }

  return { saveUserLocale, keepFirstUserLocale };
}
