import type { Database } from "../db/database.js";
import type { Clock } from "../services/clock.js";
import type { PhoneCall, PhoneGateway, SentMessage, SmsMessage } from "./phone-gateway.js";

// Development gateway: nothing leaves the machine. Each text message and call becomes a row in
// phone_outbox, which the /dev/outbox page shows; there a developer "answers" a call by moving its
// status on with markOutboxCall. Config refuses this gateway in production.

export type OutboxKind = "sms" | "call";

/** What a call in the outbox can become; "ringing" is where every call starts. */
export type OutboxCallStatus = "ringing" | "answered-1" | "answered-9" | "no-answer" | "busy" | "failed";

export interface OutboxEntry {
  id: number;
  /** The id the gateway returned for this entry: outbox-<id>. */
  providerId: string;
  kind: OutboxKind;
  to: string;
  body: string | null;
  twimlUrl: string | null;
  statusCallbackUrl: string | null;
  /** "sent" for text messages; an OutboxCallStatus for calls. */
  status: string;
  createdAt: Date;
}

export interface OutboxGateway extends PhoneGateway {
  readonly name: "outbox";
  /** The newest entries first. */
  listOutbox(limit?: number): Promise<OutboxEntry[]>;
  findOutboxCall(id: number): Promise<OutboxEntry | undefined>;
  /** Moves a call on; false when there is no call with this id. */
  markOutboxCall(id: number, status: OutboxCallStatus): Promise<boolean>;
}

const PROVIDER_ID_PREFIX = "outbox-";
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;

export function toOutboxProviderId(id: number): string {
  return `${PROVIDER_ID_PREFIX}${id}`;
}

/** The row id in an outbox-<id> provider id, or undefined when it is not one. */
export function parseOutboxProviderId(providerId: string): number | undefined {
  const match = /^outbox-(\d{1,15})$/.exec(providerId);
  return match ? Number(match[1]) : undefined;
}

function mapOutboxRow(row: Record<string, unknown>): OutboxEntry {
  const id = Number(row.id);
  return {
    id,
    providerId: toOutboxProviderId(id),
    kind: row.kind as OutboxKind,
    to: row.to_number as string,
    body: (row.body as string | null) ?? null,
    twimlUrl: (row.twiml_url as string | null) ?? null,
    statusCallbackUrl: (row.status_callback_url as string | null) ?? null,
    status: row.status as string,
    createdAt: row.created_at as Date,
  };
}

function clampListLimit(limit: number): number {
  if (!Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_LIST_LIMIT);
}

export function createOutboxGateway(db: Database, clock: Clock): OutboxGateway {
  async function insertEntry(values: Omit<OutboxEntry, "id" | "providerId" | "createdAt">): Promise<SentMessage> {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO phone_outbox (kind, to_number, body, twiml_url, status_callback_url, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [values.kind, values.to, values.body, values.twimlUrl, values.statusCallbackUrl, values.status, clock.now()],
    );
    return { providerId: toOutboxProviderId(Number(rows[0]!.id)) };
  }

  function sendSms(message: SmsMessage): Promise<SentMessage> {
    return insertEntry({
      kind: "sms",
      to: message.to,
      body: message.body,
      twimlUrl: null,
      statusCallbackUrl: message.statusCallbackUrl ?? null,
      status: "sent",
    });
  }

  function startCall(call: PhoneCall): Promise<SentMessage> {
    return insertEntry({
      kind: "call",
      to: call.to,
      body: null,
      twimlUrl: call.twimlUrl,
      statusCallbackUrl: call.statusCallbackUrl ?? null,
      status: "ringing",
    });
  }

  async function listOutbox(limit = DEFAULT_LIST_LIMIT): Promise<OutboxEntry[]> {
    const { rows } = await db.query("SELECT * FROM phone_outbox ORDER BY created_at DESC, id DESC LIMIT $1", [
      clampListLimit(limit),
    ]);
    return rows.map(mapOutboxRow);
  }

  async function findOutboxCall(id: number): Promise<OutboxEntry | undefined> {
    const { rows } = await db.query("SELECT * FROM phone_outbox WHERE id = $1 AND kind = 'call'", [id]);
    return rows[0] ? mapOutboxRow(rows[0]) : undefined;
  }

  async function markOutboxCall(id: number, status: OutboxCallStatus): Promise<boolean> {
    const { rowCount } = await db.query("UPDATE phone_outbox SET status = $2 WHERE id = $1 AND kind = 'call'", [id, status]);
    return rowCount > 0;
  }

  return { name: "outbox", sendSms, startCall, listOutbox, findOutboxCall, markOutboxCall };
}
