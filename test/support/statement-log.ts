import type { Database, Queryable } from "../../src/db/database.js";
import { startTestApp, type TestApp } from "./app.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export interface Statement {
  sql: string;
  params: unknown[];
}

export interface StatementLog {
  /** Hand this to the app: every statement it sends, through the services or the pool, is logged. */
  db: Database;
  statements: Statement[];
  /** Forgets what was logged so far. */
  clear(): void;
}

/**
 * Wraps a Database so that every statement sent through it is recorded: the services' queries,
 * the statements of a transaction (BEGIN and COMMIT included), and what libraries send straight
 * to the pool (the session store, the rate limiter).
 */
export function logStatements(inner: Database): StatementLog {
  const statements: Statement[] = [];
  const record = (sql: unknown, params: unknown) => {
    const text = typeof sql === "string" ? sql : String((sql as { text?: string })?.text ?? sql);
    statements.push({ sql: text, params: Array.isArray(params) ? params : [] });
  };
  const pool = new Proxy(inner.pool, {
    get(target, property) {
      if (property === "query") {
        return (sql: unknown, ...rest: unknown[]) => {
          record(sql, typeof rest[0] === "function" ? [] : rest[0]);
          return (target.query as (...args: unknown[]) => unknown)(sql, ...rest);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const db: Database = {
    pool,
    end: () => inner.end(),
    query(sql, params = []) {
      record(sql, params);
      return inner.query(sql, params);
    },
    transaction(fn) {
      return inner.transaction((tx) => {
        record("BEGIN", []);
        const logged: Queryable = {
          query(sql, params = []) {
            record(sql, params);
            return tx.query(sql, params);
          },
        };
        return fn(logged).then((value) => {
          record("COMMIT", []);
          return value;
        });
      });
    },
  };
  return {
    db,
    statements,
    clear: () => {
      statements.length = 0;
    },
  };
}

/**
 * A test app on a database of its own whose every statement is logged. `database` is the same
 * database unlogged (for the test's own queries); closing it drops the database.
 */
export async function startLoggedTestApp(): Promise<{ t: TestApp; log: StatementLog; database: TestDatabase }> {
  const database = await createTestDatabase();
  const log = logStatements(database.db);
  const t = await startTestApp({ database: { ...database, db: log.db } });
  return { t, log, database };
}
