import type { FactorDefinition } from "../method.js";

/** An authenticator app (TOTP), set up by QR code. */
export const appDefinition: FactorDefinition = {
  id: "app",
  kinds: ["app"],
  isBackup: false,
  enrolledSql: "EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id)",
  summarySql: "(SELECT json_build_object('since', f.enrolled_at) FROM totp_factors f WHERE f.user_id = u.id)",
  readSummary(value) {
    const row = value as { since: string } | null;
    return row ? { since: new Date(row.since), items: [], remaining: null, facts: {} } : null;
  },
};
