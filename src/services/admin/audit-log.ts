import type { Queryable } from "../../db/database.js";
import { type AuditEvent, mapAuditRow, type RequestContext } from "../audit.js";
import type { User } from "../users.js";
import type { AdminServiceDeps } from "./deps.js";
import type { Refusal } from "./outcomes.js";
import { type Page, placePage } from "./paging.js";

const auditPageSize = 50;
/** More rows than this in one CSV export are refused: narrow the filters instead. */
const auditExportLimit = 100_000;
/** Date filters on the audit log are calendar days of the practice (views show the same zone). */
const practiceTimeZone = "Europe/Amsterdam";

export interface AuditFilters {
  /** An email address or a user number: events where that user acted or was acted on. */
  user: string;
  /** An exact event type, e.g. "2fa.reset"; "" for all. */
  type: string;
  /** Calendar dates (YYYY-MM-DD) in the practice's time zone, both included; null for open. */
  from: string | null;
  to: string | null;
}

export interface AuditListRow extends AuditEvent {
  actorEmail: string | null;
  subjectEmail: string | null;
}

export type AuditSearch = Page<AuditListRow> & {
  /** The user filter named nobody: the list is empty for that reason. */
  isUnknownUser: boolean;
};

// OWASP "CSV injection": a piece of text that a spreadsheet may read as a cell of its own and that
// starts with = + - @ (full-width forms included) is a formula. A piece starts at the start of the
// value and after any separator a spreadsheet may split on (Dutch Excel splits on ";"), and some
// trim spaces first. A quote before the sign makes such a piece text.
const formulaStart = /(^|[;,\t\r\n])(\s*)(?=[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/g;

/** One CSV cell: always quoted, and defused wherever a spreadsheet could read a formula. */
export function formatCsvCell(value: string | null | undefined): string {
  const safe = (value ?? "").replace(formulaStart, "$1$2'");
  return `"${safe.replaceAll('"', '""')}"`;
}

// The column names are the file's format, read by whatever imports it: not words of the page.
const auditCsvHeader = ["time", "event", "actor email", "subject email", "ip", "user agent", "details"];

function formatAuditCsv(events: AuditListRow[]): string {
  const lines = [
    auditCsvHeader,
    ...events.map((event) => [
      event.occurredAt.toISOString(),
      event.type,
      event.actorEmail,
      event.subjectEmail,
      event.ip,
      event.userAgent,
      JSON.stringify(event.details),
    ]),
  ];
  // RFC 4180: CRLF between records.
  return `${lines.map((cells) => cells.map(formatCsvCell).join(",")).join("\r\n")}\r\n`;
}

function buildAuditWhere(filters: AuditFilters, userId: number | null) {
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  const conditions: string[] = [];
  if (userId !== null) {
    const p = param(userId);
    conditions.push(`(e.actor_user_id = ${p} OR e.subject_user_id = ${p})`);
  }
  if (filters.type) conditions.push(`e.event_type = ${param(filters.type)}`);
  const zone = param(practiceTimeZone);
  if (filters.from) conditions.push(`e.occurred_at >= (${param(filters.from)}::date)::timestamp AT TIME ZONE ${zone}`);
  if (filters.to) conditions.push(`e.occurred_at < (${param(filters.to)}::date + 1)::timestamp AT TIME ZONE ${zone}`);
  // The zone parameter is always sent; keep its type known when no date uses it.
  conditions.push(`${zone}::text IS NOT NULL`);
  return { where: `WHERE ${conditions.join(" AND ")}`, params, param };
}

const auditSelect = `SELECT e.*, a.email AS actor_email, s.email AS subject_email
  FROM audit_events e
  LEFT JOIN users a ON a.id = e.actor_user_id
  LEFT JOIN users s ON s.id = e.subject_user_id`;

function mapAuditListRow(row: Record<string, unknown>): AuditListRow {
  return {
    ...mapAuditRow(row),
    actorEmail: (row.actor_email as string | null) ?? null,
    subjectEmail: (row.subject_email as string | null) ?? null,
  };
}

/** Reading the audit log: the search page, its event types, and the CSV export. */
export function createAuditLogSearch({
  db,
  audit,
  findUserByReference,
}: Pick<AdminServiceDeps, "db" | "audit"> & {
  findUserByReference: (reference: string) => Promise<User | null>;
}) {
  /** The user the audit filter names: undefined for no filter, null for nobody. */
  async function resolveAuditUser(filters: AuditFilters): Promise<number | null | undefined> {
    if (!filters.user.trim()) return undefined;
    return (await findUserByReference(filters.user))?.id ?? null;
  }

  async function findAuditEvents(filters: AuditFilters, askedPage = 1): Promise<AuditSearch> {
    const userId = await resolveAuditUser(filters);
    if (userId === null) return { items: [], total: 0, page: 1, pageCount: 1, pageSize: auditPageSize, isUnknownUser: true };
    const { where, params, param } = buildAuditWhere(filters, userId ?? null);
    const counted = await db.query(`SELECT count(*)::int AS n FROM audit_events e ${where}`, params);
    const total = Number(counted.rows[0]?.n ?? 0);
    const { page, pageCount, pageSize, offset } = placePage(askedPage, total, auditPageSize);
    const { rows } = await db.query(
      `${auditSelect} ${where} ORDER BY e.occurred_at DESC, e.id DESC
       LIMIT ${param(pageSize)} OFFSET ${param(offset)}`,
      params,
    );
    return { items: rows.map(mapAuditListRow), total, page, pageCount, pageSize, isUnknownUser: false };
  }

  async function listAuditEventTypes(): Promise<string[]> {
    const { rows } = await db.query("SELECT DISTINCT event_type FROM audit_events ORDER BY event_type");
    return rows.map((row) => row.event_type as string);
  }

  async function selectForExport(tx: Queryable, filters: AuditFilters, userId: number | null | undefined) {
    if (userId === null) return [];
    const { where, params, param } = buildAuditWhere(filters, userId ?? null);
    const { rows } = await tx.query(
      `${auditSelect} ${where} ORDER BY e.occurred_at DESC, e.id DESC LIMIT ${param(auditExportLimit + 1)}`,
      params,
    );
    return rows;
  }

  /**
   * The filtered audit log as CSV, newest first; refused above auditExportLimit rows. Who took a
   * copy of the log is itself a security event: the copy is read in the transaction that records
   * it, so no copy leaves without its record.
   */
  async function exportAuditEventsCsv(
    adminId: number,
    filters: AuditFilters,
    context: RequestContext,
  ): Promise<{ ok: true; csv: string; rowCount: number } | Refusal<"too_many_events">> {
    const userId = await resolveAuditUser(filters);
    const rows = await db.transaction(async (tx) => {
      const selected = await selectForExport(tx, filters, userId);
      if (selected.length > auditExportLimit) return null;
      await audit.recordEvent(
        { type: "admin.audit_exported", actorUserId: adminId, details: { filters, rows: selected.length } },
        context,
        tx,
      );
      return selected;
    });
    if (!rows) return { ok: false, reason: "too_many_events", limit: auditExportLimit };
    return { ok: true, csv: formatAuditCsv(rows.map(mapAuditListRow)), rowCount: rows.length };
  }

  return { findAuditEvents, listAuditEventTypes, exportAuditEventsCsv };
}
