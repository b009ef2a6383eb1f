import { appDefinition } from "./app/definition.js";
import { appPages } from "./app/pages.js";
import type { FactorDefinition, FactorSummary, MethodKind } from "./method.js";
import type { FactorPages } from "./pages.js";
import { passkeyDefinition } from "./passkey/definition.js";
import { passkeyPages } from "./passkey/pages.js";
import { phoneDefinition } from "./phone/definition.js";
import { phonePages } from "./phone/pages.js";
import { recoveryDefinition } from "./recovery/definition.js";
import { recoveryPages } from "./recovery/pages.js";

// The registry's list of second factors, in the order the method-choice page shows their methods
// (as in the practice's help text); recovery codes last. Everything that must know which factors
// exist (the SQL that reads them with a user, the security and admin pages, the reset) asks here.
// A factor's services are built in services.ts and its pages mounted in routes.ts.
const factorList: readonly { definition: FactorDefinition; pages: FactorPages }[] = [
  { definition: phoneDefinition, pages: phonePages },
  { definition: appDefinition, pages: appPages },
  { definition: passkeyDefinition, pages: passkeyPages },
  { definition: recoveryDefinition, pages: recoveryPages },
];

export const factorDefinitions: readonly FactorDefinition[] = factorList.map((factor) => factor.definition);

/** Each factor's words and pages, in the same order. */
export const factorPages: readonly FactorPages[] = factorList.map((factor) => factor.pages);

/** Every login method's kind, in the order of the method-choice page. */
export const methodKinds: readonly MethodKind[] = factorDefinitions.flatMap((factor) => factor.kinds);

/** The factor that gives this login method. */
export function findFactorOfKind(kind: string): FactorDefinition | undefined {
  return factorDefinitions.find((factor) => factor.kinds.includes(kind));
}

export function findFactorDefinition(id: string): FactorDefinition | undefined {
  return factorDefinitions.find((factor) => factor.id === id);
}

/**
 * Which factors the user in the row `u` has set up, as one column (`second_factors`, the ids)
 * read together with the user: a signed-in page needs no query of its own for them.
 */
export const enrolledFactorColumns = `ARRAY_REMOVE(ARRAY[${factorDefinitions
  .map((factor) => `CASE WHEN ${factor.enrolledSql} THEN '${factor.id}' END`)
  .join(", ")}]::text[], NULL) AS second_factors`;

/** The login methods a row read with enrolledFactorColumns has, in the method-choice order. */
export function enrolledKindsOf(row: Record<string, unknown>): MethodKind[] {
  const ids = (row.second_factors as string[] | null) ?? [];
  return factorDefinitions.filter((factor) => ids.includes(factor.id)).flatMap((factor) => factor.kinds);
}

/** Whether these methods include a real second factor (recovery codes alone do not count). */
export function includesSecondFactor(kinds: readonly MethodKind[]): boolean {
  return kinds.some((kind) => findFactorOfKind(kind)?.isBackup === false);
}

/** SQL: whether the user in the row `u` has a real second factor. */
export const hasSecondFactorSql = `(${factorDefinitions
  .filter((factor) => !factor.isBackup)
  .map((factor) => factor.enrolledSql)
  .join(" OR ")})`;

/** SQL: every factor's summary for the user in the row `u`, as one JSON column `factor_summaries`. */
export const factorSummaryColumns = `json_build_object(${factorDefinitions
  .map((factor) => `'${factor.id}', ${factor.summarySql}`)
  .join(", ")}) AS factor_summaries`;

/** What the user has of each factor (absent: none), from the column of factorSummaryColumns. */
export function readFactorSummaries(value: unknown): Map<string, FactorSummary> {
  const byId = (value ?? {}) as Record<string, unknown>;
  const summaries = new Map<string, FactorSummary>();
  for (const factor of factorDefinitions) {
    const summary = factor.readSummary(byId[factor.id] ?? null);
    if (summary) summaries.set(factor.id, summary);
  }
  return summaries;
}
