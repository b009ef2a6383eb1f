import { maskPhoneNumber } from "../../services/phone-numbers.js";
import type { FactorDefinition } from "../method.js";

/** A verified mobile number: a code by SMS, or a call where the user presses 1. */
export const phoneDefinition: FactorDefinition = {
  id: "phone",
  kinds: ["sms", "call"],
  isBackup: false,
  enrolledSql: "EXISTS (SELECT 1 FROM phone_factors p WHERE p.user_id = u.id)",
  summarySql:
    "(SELECT json_build_object('since', p.verified_at, 'phone', p.phone_e164) FROM phone_factors p WHERE p.user_id = u.id)",
  readSummary(value) {
    const row = value as { since: string; phone: string } | null;
    return row ? { since: new Date(row.since), items: [], remaining: null, facts: { masked: maskPhoneNumber(row.phone) } } : null;
  },
};
