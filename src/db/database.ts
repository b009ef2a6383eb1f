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

// Connection-level failures (server gone, refused, timed out) become one error type, so the web
// layer can answer 503 instead of 500.
const connectionErrorCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08001",
  "08003",
  "08006",
]);

export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  if (code && connectionErrorCodes.has(code)) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(error.message);
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

export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    // Otherwise the rate limiter's named statements ("already exists") fail every login after a reconnect.
    onConnect: options.sharedSession
      ? async (client) => {
          await client.query("DEALLOCATE ALL");
        }
      : undefined,
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on("error", (error) => options.onError?.(error));

  // pool.query() throws away the connection after any SQL error; checking a client out keeps it
  // for ordinary errors (a unique violation, a refused UPDATE) and drops it only when it broke.
  async function query<T extends Row>(sql: string, params: unknown[] = []) {
    let client: pg.PoolClient | undefined;
    let broken: Error | undefined;
    try {
      client = await pool.connect();
      const result = await client.query<T>(sql, params);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      if (isConnectionError(error)) broken = error as Error;
      translate(error);
    } finally {
      client?.release(broken);
    }
  }

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      translate(error);
    }
    const tx: Queryable = {
      async query<R extends Row>(sql: string, params: unknown[] = []) {
        const result = await client.query<R>(sql, params);
        return { rows: result.rows, rowCount: result.rowCount ?? 0 };
      },
    };
    let failed: unknown;
    try {
      await client.query("BEGIN");
      const value = await fn(tx);
      await client.query("COMMIT");
      return value;
    } catch (error) {
      failed = error;
      await client.query("ROLLBACK").catch(() => undefined);
      return translate(error);
    } finally {
      client.release(failed !== undefined && isConnectionError(failed) ? (failed as Error) : undefined);
    }
  }

  return { query, transaction, pool, end: () => pool.end() };
}
