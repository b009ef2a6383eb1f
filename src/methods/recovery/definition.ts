import type { FactorDefinition } from "../method.js";

/** Single-use recovery codes: created with the first factor, a way in when the others are lost. */
export const recoveryDefinition: FactorDefinition = {
  id: "recovery",
  kinds: ["recovery"],
  isBackup: true,
  enrolledSql: "EXISTS (SELECT 1 FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL)",
  summarySql: `(SELECT json_build_object('since', min(r.created_at), 'left', count(*) FILTER (WHERE r.used_at IS NULL))
    FROM recovery_codes r WHERE r.user_id = u.id HAVING count(*) > 0)`,
  readSummary(value) {
    const row = value as { since: string; left: number } | null;
    return row ? { since: new Date(row.since), items: [], remaining: Number(row.left), facts: {} } : null;
  },
};
