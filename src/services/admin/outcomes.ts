import type { Role } from "../../config.js";
import type { SecondFactorReset } from "./second-factor-reset.js";

// What an admin action did, or why it did nothing, as codes with the data their words need: the
// web layer (src/web/admin-words.ts) and the command line put them into sentences.

export type AdminRefusal =
  | { ok: false; reason: "user_not_found" }
  | { ok: false; reason: "own_role" }
  | { ok: false; reason: "own_account_disabled" }
  | { ok: false; reason: "own_second_factor" }
  | { ok: false; reason: "not_a_doctor"; name: string }
  | { ok: false; reason: "not_a_patient"; name: string }
  | { ok: false; reason: "not_linked" }
  | { ok: false; reason: "reset_reason_missing" }
  | { ok: false; reason: "reset_reason_too_long"; maxLength: number }
  | { ok: false; reason: "too_many_events"; limit: number };

/** The refusals with these reasons. */
export type Refusal<R extends AdminRefusal["reason"]> = Extract<AdminRefusal, { reason: R }>;

export type AdminSuccess =
  | { ok: true; outcome: "role_changed"; from: Role; to: Role; sessionsEnded: number; linksRemoved: number; mustEnrol: boolean }
  | { ok: true; outcome: "role_unchanged"; role: Role }
  | { ok: true; outcome: "disabled"; sessionsEnded: number }
  /** A disabled account loses its sessions also when it was disabled already. */
  | { ok: true; outcome: "already_disabled"; sessionsEnded: number }
  | { ok: true; outcome: "enabled" }
  | { ok: true; outcome: "not_disabled" }
  | { ok: true; outcome: "unlocked" }
  | { ok: true; outcome: "patient_assigned"; doctorName: string; patientName: string }
  | { ok: true; outcome: "patient_already_assigned"; doctorName: string; patientName: string }
  | { ok: true; outcome: "patient_unassigned" }
  | { ok: true; outcome: "second_factor_reset"; reset: SecondFactorReset };

/** The successes with these outcomes. */
export type Success<O extends AdminSuccess["outcome"]> = Extract<AdminSuccess, { outcome: O }>;

export type AdminActionResult = AdminSuccess | AdminRefusal;
