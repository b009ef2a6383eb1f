import type { FactorDefinition } from "../method.js";
import { hasPasskeySql, passkeySummarySql } from "./passkeys.js";

/** Passkeys (WebAuthn): a fingerprint, face, screen lock or security key; several per user. */
export const passkeyDefinition: FactorDefinition = {
  id: "passkey",
  kinds: ["passkey"],
  isBackup: false,
  enrolledSql: hasPasskeySql,
  summarySql: passkeySummarySql,
  readSummary(value) {
    const rows = value as { id: number; name: string; created_at: string; last_used_at: string | null }[] | null;
    if (!rows?.length) return null;
    const items = rows.map((row) => ({
      id: String(row.id),
      name: row.name,
      since: new Date(row.created_at),
      lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
    }));
    return { since: items[0]!.since, items, remaining: null, facts: {} };
  },
};
