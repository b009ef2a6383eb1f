import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Config, Role } from "../config.js";
import type { Database, Queryable } from "../db/database.js";
import type { AuditLog, RequestContext } from "./audit.js";
import type { Clock } from "./clock.js";
import { deriveKey } from "./keys.js";
import { describeBrowser } from "./user-agents.js";

// "Don't ask again on this browser": a browser that passed the second step for a user, with the
// box ticked, skips that step at the user's later logins. The password is always asked first,
// and such a login never counts as a fresh second factor (the web layer sees to that).

export interface RememberedBrowser {
  id: number;
  userId: number;
  /** "Chrome on Windows", from the User-Agent when it was remembered. */
  description: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date;
}

/** What a browser's cookie holds for one remembered user: the record's id and its secret token. */
export interface BrowserKey {
  id: number;
  token: string;
}

export type ForgottenBrowser = Pick<RememberedBrowser, "id" | "description">;

/** Why browsers were forgotten; kept in the audit event. */
export type ForgetReason =
  | "user"
  | "user_all"
  | "password_changed"
  | "signed_out_elsewhere"
  | "second_factor_changed"
  | "second_factor_reset"
  | "role_changed"
  | "account_disabled";

export type RememberOutcome = { status: "remembered"; key: BrowserKey; expiresAt: Date } | { status: "not_allowed" };

export type RememberedLoginCheck =
  | { status: "remembered"; browser: RememberedBrowser }
  /** Off for this role, no record for this user among the keys, expired, or a wrong token. */
  | { status: "not_remembered" }
  /** The second step is locked after wrong codes: a remembered browser does not get round it. */
  | { status: "locked" };

/** 256 random bits, as 43 base64url characters. */
const tokenBytes = 32;
export const browserTokenPattern = /^[A-Za-z0-9_-]{43}$/;

const dayMs = 24 * 60 * 60_000;

/** Whether users of this role are offered "don't ask again on this browser" (and may use it). */
export function mayRememberBrowsers(role: Role, config: Pick<Config, "rememberBrowserDays" | "rememberBrowserRoles">): boolean {
  return config.rememberBrowserDays > 0 && config.rememberBrowserRoles.includes(role);
}

/** Maps a row, as read or as JSON (where times come as text). */
export function mapBrowserRow(row: Record<string, unknown>): RememberedBrowser {
  const timeOf = (value: unknown) => (value instanceof Date ? value : new Date(String(value)));
  return {
    id: Number(row.id),
    userId: Number(row.user_id),
    description: row.description as string,
    createdAt: timeOf(row.created_at),
    lastUsedAt: row.last_used_at == null ? null : timeOf(row.last_used_at),
    expiresAt: timeOf(row.expires_at),
  };
}

export type RememberedBrowsers = ReturnType<typeof createRememberedBrowsers>;

export function createRememberedBrowsers({
  db,
  clock,
  config,
  audit,
  isSecondStepLocked,
}: {
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
  /** Whether wrong codes locked the user's second step just now. */
  isSecondStepLocked: (userId: number) => Promise<boolean>;
}) {
  const hashKey = deriveKey(config, "remembered-browser");
  const hashToken = (token: string) => createHmac("sha256", hashKey).update(token).digest("hex");

  /** Its own expiry, or sooner when REMEMBER_BROWSER_DAYS was lowered since it was remembered. */
  function usableUntil(browser: RememberedBrowser): Date {
    return new Date(Math.min(browser.expiresAt.getTime(), browser.createdAt.getTime() + config.rememberBrowserDays * dayMs));
  }

  function isCurrent(browser: RememberedBrowser, now: Date): boolean {
    return usableUntil(browser) > now;
  }

  /**
   * Of the user's remembered browsers as stored (the security overview reads them), those still
   * usable, each with the end the current REMEMBER_BROWSER_DAYS gives it.
   */
  function usableBrowsers(browsers: RememberedBrowser[]): RememberedBrowser[] {
    const now = clock.now();
    return browsers
      .filter((browser) => isCurrent(browser, now))
      .map((browser) => ({ ...browser, expiresAt: usableUntil(browser) }));
  }

  /** Remembers the browser the user just passed the second step in. */
  async function rememberBrowser(user: { id: number; role: Role }, context: RequestContext): Promise<RememberOutcome> {
    if (!mayRememberBrowsers(user.role, config)) return { status: "not_allowed" };
    const token = randomBytes(tokenBytes).toString("base64url");
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + config.rememberBrowserDays * dayMs);
    const description = describeBrowser(context.userAgent);
    const id = await db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `INSERT INTO remembered_browsers (user_id, token_hash, description, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [user.id, hashToken(token), description, now, expiresAt],
      );
      const browserId = Number(rows[0]?.id);
      await audit.recordEvent(
        {
          type: "browser.remembered",
          actorUserId: user.id,
          subjectUserId: user.id,
          details: { browserId, browser: description, days: config.rememberBrowserDays },
        },
        context,
        tx,
      );
      return browserId;
    });
    return { status: "remembered", key: { id, token }, expiresAt };
  }

  /**
   * After a right password: whether one of the browser's keys is a live record of this user, so
   * the second step may be skipped. A hit is marked as used; the caller records the login.
   */
  async function checkRememberedBrowser(user: { id: number; role: Role }, keys: BrowserKey[]): Promise<RememberedLoginCheck> {
    if (keys.length === 0 || !mayRememberBrowsers(user.role, config)) return { status: "not_remembered" };
    const { rows } = await db.query(
      "SELECT * FROM remembered_browsers WHERE user_id = $1 AND id = ANY($2::bigint[]) ORDER BY id DESC",
      [user.id, keys.map((key) => key.id)],
    );
    const now = clock.now();
    const match = rows.find((row) => {
      const key = keys.find((candidate) => candidate.id === Number(row.id));
      const expected = Buffer.from(String(row.token_hash), "hex");
      const given = Buffer.from(hashToken(key?.token ?? ""), "hex");
      return expected.length === given.length && timingSafeEqual(expected, given) && isCurrent(mapBrowserRow(row), now);
    });
    if (!match) return { status: "not_remembered" };
    if (await isSecondStepLocked(user.id)) return { status: "locked" };
    // Conditional, so a browser forgotten meanwhile (another tab, an admin) does not get through.
    const used = await db.query(
      "UPDATE remembered_browsers SET last_used_at = $3 WHERE id = $1 AND user_id = $2 AND expires_at > $3 RETURNING *",
      [match.id, user.id, now],
    );
    return used.rows[0] ? { status: "remembered", browser: mapBrowserRow(used.rows[0]) } : { status: "not_remembered" };
  }

  /**
   * Forgets the user's remembered browsers (all, or all but `keepIds`), with one audit event when
   * there were any. Pass the transaction of the change that causes it, so both happen together.
   * Returns what was forgotten.
   */
  async function forgetBrowsers(
    userId: number,
    reason: ForgetReason,
    context: RequestContext,
    options: { tx?: Queryable; actorUserId?: number | null; keepIds?: number[]; onlyId?: number } = {},
  ): Promise<ForgottenBrowser[]> {
    const forget = async (tx: Queryable): Promise<ForgottenBrowser[]> => {
      const { rows } = await tx.query(
        `DELETE FROM remembered_browsers
         WHERE user_id = $1 AND NOT (id = ANY($2::bigint[])) AND ($3::bigint IS NULL OR id = $3)
         RETURNING id, description`,
        [userId, options.keepIds ?? [], options.onlyId ?? null],
      );
      const forgotten = rows.map((row) => ({ id: Number(row.id), description: String(row.description) }));
      if (forgotten.length === 0) return [];
      await audit.recordEvent(
        {
          type: "browser.forgotten",
          actorUserId: options.actorUserId === undefined ? userId : options.actorUserId,
          subjectUserId: userId,
          details: {
            reason,
            count: forgotten.length,
            browserIds: forgotten.map((browser) => browser.id),
            browsers: forgotten.map((browser) => browser.description),
          },
        },
        context,
        tx,
      );
      return forgotten;
    };
    return options.tx ? forget(options.tx) : db.transaction(forget);
  }

  /** "Forget this browser": one of the user's own; "not_found" for anyone else's. */
  async function forgetBrowser(
    userId: number,
    browserId: number,
    context: RequestContext,
  ): Promise<{ status: "forgotten"; browser: ForgottenBrowser } | { status: "not_found" }> {
    const [browser] = await forgetBrowsers(userId, "user", context, { onlyId: browserId });
    return browser ? { status: "forgotten", browser } : { status: "not_found" };
  }

  return { rememberBrowser, checkRememberedBrowser, usableBrowsers, forgetBrowsers, forgetBrowser };
}
