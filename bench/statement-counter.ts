// Counts the SQL statements a server sends to PostgreSQL by reading the wire protocol on a loopback
// proxy in front of the database. Exact and immediate, unlike pg_stat_database (which counts
// transactions and is flushed by each backend up to 10 s late) and pg_stat_statements (which must be
// preloaded by the server's configuration).
//
// Frontend messages (PostgreSQL protocol 3): after the untyped start-up message, each message is a
// type byte and an int32 length. A simple query ('Q') is one statement; an extended query is Parse
// ('P', the text, possibly named), Bind ('B', naming the statement) and Execute ('E'): each Execute
// runs one statement. Only the client-to-server direction is read; bytes pass through unchanged.
import { startTcpProxy } from "../test/support/tcp-proxy.js";

const sslRequestCode = 80877103;
const gssEncRequestCode = 80877104;

function readCString(buffer: Buffer, start: number): { value: string; next: number } {
  const end = buffer.indexOf(0, start);
  const stop = end === -1 ? buffer.length : end;
  return { value: buffer.toString("utf8", start, stop), next: stop + 1 };
}

/** Follows one client connection's messages and reports the text of each statement executed. */
export class FrontendMessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private readonly prepared = new Map<string, string>();
  private boundText = "";

  constructor(private readonly onStatement: (text: string) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.started) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        this.buffer = this.buffer.subarray(length);
        // An SSL or GSS request comes before the real start-up message.
        if (code !== sslRequestCode && code !== gssEncRequestCode) this.started = true;
        continue;
      }
      if (this.buffer.length < 5) return;
      const type = String.fromCharCode(this.buffer[0]!);
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      const body = this.buffer.subarray(5, 1 + length);
      this.buffer = this.buffer.subarray(1 + length);
      this.read(type, body);
    }
  }

  private read(type: string, body: Buffer) {
    if (type === "Q") {
      this.onStatement(readCString(body, 0).value);
    } else if (type === "P") {
      const name = readCString(body, 0);
      this.prepared.set(name.value, readCString(body, name.next).value);
    } else if (type === "B") {
      const portal = readCString(body, 0);
      this.boundText = this.prepared.get(readCString(body, portal.next).value) ?? "";
    } else if (type === "E") {
      this.onStatement(this.boundText);
    }
  }
}

export type StatementKind = "read" | "write" | "transaction";

/** A write changes rows (INSERT, UPDATE, DELETE, MERGE, also inside WITH); BEGIN/COMMIT/ROLLBACK are "transaction". */
export function classifyStatement(text: string): StatementKind {
  const sql = text.trim().toLowerCase();
  if (/^(begin|commit|rollback|start transaction|savepoint|release)\b/.test(sql)) return "transaction";
  if (/^(insert|update|delete|merge)\b/.test(sql)) return "write";
  if (/^with\b/.test(sql) && /\b(insert\s+into|update\s+\S+\s+set|delete\s+from)\b/.test(sql)) return "write";
  return "read";
}

export interface StatementCounts {
  total: number;
  read: number;
  write: number;
  transaction: number;
  /** Each statement text (whitespace collapsed) and how often it ran. */
  texts: Map<string, number>;
}

function emptyCounts(): StatementCounts {
  return { total: 0, read: 0, write: 0, transaction: 0, texts: new Map() };
}

export interface StatementCounter {
  port: number;
  /** The counts since the last take, and starts counting afresh. */
  take(): StatementCounts;
  close(): Promise<void>;
}

/** A loopback proxy to the database at target that counts the statements going through it. */
export async function startStatementCounter(target: { host: string; port: number }): Promise<StatementCounter> {
  let counts = emptyCounts();
  const count = (text: string) => {
    const kind = classifyStatement(text);
    counts.total += 1;
    counts[kind] += 1;
    const key = text.replace(/\s+/g, " ").trim();
    counts.texts.set(key, (counts.texts.get(key) ?? 0) + 1);
  };
  const proxy = await startTcpProxy(target, {
    watchClient: () => {
      const reader = new FrontendMessageReader(count);
      return (chunk) => reader.push(chunk);
    },
  });
  return {
    port: proxy.port,
    take: () => {
      const taken = counts;
      counts = emptyCounts();
      return taken;
    },
    close: proxy.close,
  };
}
