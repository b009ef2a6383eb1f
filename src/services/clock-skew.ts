import type { Queryable } from "../db/database.js";
import type { Clock } from "./clock.js";

// A wrong server clock is the top cause of "invalid code" complaints with authenticator apps:
// codes are checked against this process's clock. The database server's clock is a second opinion.
export const clockSkewWarningSeconds = 30;

/** This process's clock minus the database server's, in whole seconds. */
export async function measureClockSkewSeconds(db: Queryable, clock: Clock): Promise<number> {
  const { rows } = await db.query("SELECT now() AS now");
  return Math.round((clock.now().getTime() - (rows[0]!.now as Date).getTime()) / 1000);
}

export function describeClockSkew(skewSeconds: number): string | null {
  if (Math.abs(skewSeconds) <= clockSkewWarningSeconds) return null;
  return `This server's clock is ${Math.abs(skewSeconds)} s ${skewSeconds > 0 ? "ahead of" : "behind"} the database server's: authenticator-app codes will be refused. Fix the time (NTP).`;
}
