import pg from "pg";

// The only module that talks to the pg driver. Services receive a Database and write plain SQL
// with $1 parameters; rows are mapped by hand where they are read.

export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<{ rows: T[]; rowCount: number }>;
}

export interface Database extends Queryable {
  /** Runs fn inside BEGIN/COMMIT on one connection; rolls back when fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** The underlying pool, for libraries that need one (session store, rate limiter). */
  pool: pg.Pool;
  end(): Promise<void>;
}

export class DatabaseUnavailableError extends Error {
  readonly status = 503;
}

/**
 * How long the portal waits for its database, so that a dead or silent one (a crash, a network
 * partition) costs a request a few seconds and a 503 page, never a hang. README.md lists them.
 */
export const databaseTimeouts = {
  /** The server cancels a statement that runs longer (statement_timeout). */
  statementMs: 5_000,
  /**
   * The client gives up on an answer that has not come (pg's query_timeout): the server or the
   * network went silent. Longer than statementMs, so that a slow statement is cancelled by the
   * server first and its connection stays usable.
   */
  queryMs: 6_000,
  /** Opening a connection, and waiting for a free one in the pool. */
  connectMs: 4_000,
  /** The server ends a transaction left idle this long, freeing its locks when the portal's side is gone. */
  idleInTransactionMs: 30_000,
  /** TCP keep-alive probes start after this much quiet, so a connection to a vanished host is noticed. */
  keepAliveDelayMs: 10_000,
};

// Settings every connection gets, in the pool or on its own.
const connectionSettings = {
  connectionTimeoutMillis: databaseTimeouts.connectMs,
  keepAlive: true,
  keepAliveInitialDelayMillis: databaseTimeouts.keepAliveDelayMs,
} satisfies pg.ClientConfig;

// The connection broke, or may still be receiving an answer nobody waits for: it is dropped.
const lostConnectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08001",
  "08003",
  "08006",
  "25P03",
]);
const lostConnectionMessages =
  /Connection terminated|connection timeout|Client has encountered a connection error|Client was closed|Query read timeout/i;

function breaksConnection(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  if (code && lostConnectionCodes.has(code)) return true;
  return lostConnectionMessages.test(error.message);
}

// No answer in time with the connection still fine: a statement cancelled by statement_timeout,
// no free connection in the pool in time, a server with no room for another connection.
const busyCodes = new Set(["57014", "53300"]);

/**
 * Whether the database could not answer: gone, unreachable, silent or too busy. The web layer
 * answers 503 for these, whether they come through this module or from a library using the pool.
 */
export function isConnectionError(error: unknown): boolean {
  if (breaksConnection(error)) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  return (code !== undefined && busyCodes.has(code)) || /timeout exceeded when trying to connect/i.test(error.message);
}

/**
 * A value PostgreSQL could not take (SQLSTATE class 22: a NUL byte in text, a date out of range,
 * text where a number belongs): bad input that slipped past the forms, not a fault of the portal.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^22[0-9A-Z]{3}$/.test(code);
}

function translate(error: unknown): never {
  if (isConnectionError(error)) {
    throw new DatabaseUnavailableError("The database is not reachable.", { cause: error });
  }
  throw error;
}

export interface DatabaseOptions {
  connectionString: string;
  /** The most connections the pool may hold; 1 for the embedded database, which accepts one. */
  max: number;
  /**
   * The server keeps one session for all its connections (the embedded database): a new
   * connection first forgets the statements the one before it prepared, as a new backend would.
   */
  sharedSession?: boolean;
  onError?: (error: Error) => void;
}

/**
 * A client held from the pool, with an 'error' listener for as long as it is held: pg-pool
 * listens only to idle clients, and an 'error' event nobody hears ends the process. A client
 * whose connection broke goes back as broken, so the pool drops it instead of lending it again.
 */
function hold(client: pg.PoolClient) {
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on("error", onError);
  return {
    client,
    /** Notes a failed query; returns whether the connection is broken. */
    noteFailure(error: unknown): boolean {
      if (!broken && breaksConnection(error)) broken = error as Error;
      return broken !== undefined;
    },
    release() {
      // pg-pool puts its own listener back before this one goes: the client is never unheard.
      client.release(broken);
      client.off("error", onError);
    },
  };
}

export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    idleTimeoutMillis: 30000,
    ...connectionSettings,
    statement_timeout: databaseTimeouts.statementMs,
    query_timeout: databaseTimeouts.queryMs,
    idle_in_transaction_session_timeout: databaseTimeouts.idleInTransactionMs,
    // Otherwise the rate limiter's named statements ("already exists") fail every login after a reconnect.
    onConnect: options.sharedSession
      ? async (client) => {
          await client.query("DEALLOCATE ALL");
        }
      : undefined,
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on("error", (error) => options.onError?.(error));

  // The listener goes on in the pool's own callback, not after an await: the bytes that complete a
  // new connection can carry its termination too, and that 'error' is emitted before any await resumes.
  function checkOut(): Promise<ReturnType<typeof hold>> {
    return new Promise((resolve, reject) => {
      pool.connect((error, client) => {
        if (error || !client) reject(error);
        else resolve(hold(client));
      });
    }).catch(translate) as Promise<ReturnType<typeof hold>>;
  }

  // pool.query() throws away the connection after any SQL error; checking a client out keeps it
  // for ordinary errors (a unique violation, a refused UPDATE) and drops it only when it broke.
  async function query<T extends Row>(sql: string, params: unknown[] = []) {
    const held = await checkOut();
    try {
      const result = await held.client.query<T>(sql, params);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      held.noteFailure(error);
      return translate(error);
    } finally {
      held.release();
    }
  }

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const held = await checkOut();
    const tx: Queryable = {
      async query<R extends Row>(sql: string, params: unknown[] = []) {
        const result = await held.client.query<R>(sql, params);
        return { rows: result.rows, rowCount: result.rowCount ?? 0 };
      },
    };
    try {
      await held.client.query("BEGIN");
      const value = await fn(tx);
      await held.client.query("COMMIT");
      return value;
    } catch (error) {
      // A broken connection cannot roll back, and need not: the server does when it closes.
      if (!held.noteFailure(error)) await held.client.query("ROLLBACK").catch((rollback) => held.noteFailure(rollback));
      return translate(error);
    } finally {
      held.release();
    }
  }

  return { query, transaction, pool, end: () => pool.end() };
}

/**
 * Runs fn on a connection of its own, outside the pool (migrations, tests creating databases),
 * with the pool's connect time-out, keep-alive and an 'error' listener. No statement time-outs:
 * a migration may rightly take long. A connection lost meanwhile fails fn's next query.
 */
export async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, ...connectionSettings });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return translate(error);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
