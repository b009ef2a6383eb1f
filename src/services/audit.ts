import type { Locale } from "../config.js";
import type { Database, Queryable } from "../db/database.js";
import type { Clock } from "./clock.js";

/** Who made a request: kept with each security event. */
export interface RequestContext {
  ip: string | undefined;
  userAgent: string | undefined;
  /**
   * What per-client limits count by: the address, or an IPv6 client's /64 (one subscriber's
   * network). Unset: the address.
   */
  clientKey?: string;
  /** The language the request was answered in: a first login saves it as the user's (not audited). */
  locale?: Locale;
}

export const noRequestContext: RequestContext = { ip: undefined, userAgent: undefined };

export interface AuditEventInput {
  type: string;
  actorUserId?: number | null;
  subjectUserId?: number | null;
  /** Never a password, code, secret or full phone number. */
  details?: Record<string, unknown>;
}

export interface AuditEvent {
  id: number;
  occurredAt: Date;
  type: string;
  actorUserId: number | null;
  subjectUserId: number | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
}

export function mapAuditRow(row: Record<string, unknown>): AuditEvent {
  return {
    id: Number(row.id),
    occurredAt: row.occurred_at as Date,
    type: row.event_type as string,
    actorUserId: row.actor_user_id == null ? null : Number(row.actor_user_id),
    subjectUserId: row.subject_user_id == null ? null : Number(row.subject_user_id),
    ip: (row.ip as string | null) ?? null,
    userAgent: (row.user_agent as string | null) ?? null,
    details: (row.details as Record<string, unknown>) ?? {},
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;

export function createAuditLog({ db, clock }: { db: Database; clock: Clock }) {
  const eventValues = (event: AuditEventInput, context: RequestContext) => [
    clock.now(),
    event.type,
    event.actorUserId ?? null,
    event.subjectUserId ?? null,
    context.ip?.slice(0, 64) ?? null,
    context.userAgent?.slice(0, 512) ?? null,
    JSON.stringify(event.details ?? {}),
  ];

  async function recordEvent(event: AuditEventInput, context: RequestContext, tx: Queryable = db): Promise<void> {
    await tx.query(
      `INSERT INTO audit_events (occurred_at, event_type, actor_user_id, subject_user_id, ip, user_agent, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      eventValues(event, context),
    );
  }

  /**
   * Records the event unless one of the same type about the same user was recorded at or after
   * since: a repeated refusal is kept once, and does not push other events off the user's list.
   */
  async function recordEventUnlessRecent(event: AuditEventInput, context: RequestContext, since: Date): Promise<void> {
    await db.query(
      `INSERT INTO audit_events (occurred_at, event_type, actor_user_id, subject_user_id, ip, user_agent, details)
       SELECT $1, $2, $3, $4, $5, $6, $7
       WHERE NOT EXISTS (
         SELECT 1 FROM audit_events WHERE subject_user_id = $4 AND event_type = $2 AND occurred_at >= $8
       )`,
      [...eventValues(event, context), since],
    );
  }

  async function listEventsForUser(userId: number, limit = 20, excludedTypes: string[] = []): Promise<AuditEvent[]> {
    const { rows } = await db.query(
      `SELECT * FROM audit_events WHERE (subject_user_id = $1 OR actor_user_id = $1) AND NOT (event_type = ANY($3::text[]))
       ORDER BY occurred_at DESC, id DESC LIMIT $2`,
      [userId, limit, excludedTypes],
    );
    return rows.map(mapAuditRow);
  }

  return { recordEvent, recordEventUnlessRecent, listEventsForUser };
}
