import type { Queryable } from "../../db/database.js";
import type { FactorSummary } from "../../methods/method.js";
import {
  factorDefinitions,
  factorSummaryColumns,
  hasSecondFactorSql,
  includesSecondFactor,
  readFactorSummaries,
} from "../../methods/registry.js";
import type { MethodKind, TwoFactorService } from "../two-factor/index.js";

// What the admin area reads of a user's second factors, through the method registry
// (src/methods/registry.ts): no factor is named here.

/**
 * SQL, for a query over `users u`: whether that user has a real second factor (recovery codes
 * alone do not count). For the user list and its filter.
 */
export { hasSecondFactorSql };

/** One second factor a user has set up, as an admin sees it (its pages word the summary). */
export interface FactorFact {
  /** The factor's id in the registry. */
  id: string;
  summary: FactorSummary;
}

export interface FactorFacts {
  /** The real factors, in the registry's order. */
  factors: FactorFact[];
  /** Unused codes of the backup factors (recovery codes). */
  recoveryCodesLeft: number;
}

/** What the user's factors are and since when, in one query. */
export async function readFactorFacts(db: Queryable, userId: number): Promise<FactorFacts> {
  const { rows } = await db.query(`SELECT ${factorSummaryColumns} FROM users u WHERE u.id = $1`, [userId]);
  const summaries = readFactorSummaries(rows[0]?.factor_summaries);
  const factors: FactorFact[] = [];
  let recoveryCodesLeft = 0;
  for (const definition of factorDefinitions) {
    const summary = summaries.get(definition.id);
    if (!summary) continue;
    if (definition.isBackup) recoveryCodesLeft += summary.remaining ?? 0;
    else factors.push({ id: definition.id, summary });
  }
  return { factors, recoveryCodesLeft };
}

/** The user's unused recovery codes; inside a reset's transaction, before they are removed. */
export async function countRecoveryCodesLeft(db: Queryable, userId: number): Promise<number> {
  return (await readFactorFacts(db, userId)).recoveryCodesLeft;
}

/** The login methods of the user's real second factors (what a reset removes). */
export async function listSecondFactorKinds(twoFactor: TwoFactorService, userId: number): Promise<MethodKind[]> {
  return (await twoFactor.listEnrolledKinds(userId)).filter((kind) => includesSecondFactor([kind]));
}
