import type { Database } from "../db/database.js";
import {
  enrolledFactorColumns,
  enrolledKindsOf,
  factorSummaryColumns,
  includesSecondFactor,
  methodKinds,
} from "../methods/registry.js";
import { type AuditEvent, mapAuditRow } from "./audit.js";
import type { Clock } from "./clock.js";
import { mapBrowserRow, type RememberedBrowser } from "./remembered-browsers.js";
import type { MethodKind } from "./two-factor/index.js";

/** What the security page shows of a user: their factors, their sessions and recent events. */
export interface SecurityOverview {
  /** Every factor's summary, as one JSON value: read it with readFactorSummaries (methods/registry.ts). */
  factorSummaries: unknown;
  /** The method of the user's last login, when its factor is still set up (recovery codes aside). */
  lastLoginMethod: MethodKind | null;
  /** Live sessions of the user, this one included. */
  sessionCount: number;
  events: AuditEvent[];
  /** Browsers where the second step is skipped ("don't ask again"), most recently used first. */
  rememberedBrowsers: RememberedBrowser[];
}

export type SecurityOverviews = ReturnType<typeof createSecurityOverviews>;

/**
 * The security page in one statement: it reads what the factor, session and audit services each
 * keep (the same tables and conditions they use), so that the page costs one query, not nine.
 */
export function createSecurityOverviews({ db, clock }: { db: Database; clock: Clock }) {
  async function findSecurityOverview(
    userId: number,
    { eventLimit, hiddenEventTypes }: { eventLimit: number; hiddenEventTypes: string[] },
  ): Promise<SecurityOverview> {
    const { rows } = await db.query(
      `SELECT
         ${factorSummaryColumns},
         ${enrolledFactorColumns},
         (SELECT details ->> 'method' FROM audit_events
          WHERE subject_user_id = $1 AND event_type = 'login.succeeded' AND details ->> 'method' = ANY($5::text[])
          ORDER BY occurred_at DESC, id DESC LIMIT 1) AS last_login_method,
         (SELECT count(*)::int FROM session WHERE user_id = $1 AND expire > now()) AS session_count,
         (SELECT coalesce(json_agg(e ORDER BY e.occurred_at DESC, e.id DESC), '[]'::json) FROM (
            SELECT * FROM audit_events
            WHERE (subject_user_id = $1 OR actor_user_id = $1) AND NOT (event_type = ANY($3::text[]))
            ORDER BY occurred_at DESC, id DESC LIMIT $2) e) AS events,
         (SELECT coalesce(json_agg(b ORDER BY coalesce(b.last_used_at, b.created_at) DESC, b.id DESC), '[]'::json)
          FROM remembered_browsers b WHERE b.user_id = $1 AND b.expires_at > $4) AS remembered_browsers
       FROM users u WHERE u.id = $1`,
      [userId, eventLimit, hiddenEventTypes, clock.now(), methodKinds],
    );
    const row = rows[0] ?? {};
    const lastLoginMethod = (row.last_login_method as MethodKind | null) ?? null;
    // A login with a backup (a recovery code) suggests no method for the next one.
    const stillSetUp =
      lastLoginMethod !== null && includesSecondFactor([lastLoginMethod]) && enrolledKindsOf(row).includes(lastLoginMethod);
    return {
      factorSummaries: row.factor_summaries ?? null,
      lastLoginMethod: stillSetUp ? lastLoginMethod : null,
      sessionCount: Number(row.session_count ?? 0),
      // Read as JSON: the time comes as text.
      events: ((row.events as Record<string, unknown>[] | null) ?? []).map((event) =>
        mapAuditRow({ ...event, occurred_at: new Date(String(event.occurred_at)) }),
      ),
      rememberedBrowsers: ((row.remembered_browsers as Record<string, unknown>[] | null) ?? []).map(mapBrowserRow),
    };
  }

  return { findSecurityOverview };
}
