import { englishWords, type Translate } from "../i18n.js";
import { findFactorPages, findLoginChoice } from "../methods/page-list.js";
import type { AdminRefusal, AdminSuccess, FactorFact, SecondFactorReset } from "../services/admin/index.js";
import type { CreateUserResult } from "../services/users.js";
import { describePasswordProblem } from "./password-words.js";

// The sentences of the administration, from the outcomes its services return, in the words of
// locales/<language>/admin.json. The admin pages pass the page's words (wordsOf(req)); the command
// line (src/cli.ts) is an operator's tool and keeps the English default.

const roleOf = (role: string, t: Translate) => t(`common:roles.${role}`);

/** What an admin action did, for the notice at the top of the user's page. */
export function describeAdminOutcome(success: AdminSuccess, t: Translate = englishWords()): string {
  switch (success.outcome) {
    case "role_changed": {
      const parts = [t("admin:outcomes.roleChanged", { from: roleOf(success.from, t), to: roleOf(success.to, t) })];
      if (success.sessionsEnded > 0) parts.push(t("admin:outcomes.sessionsEnded", { count: success.sessionsEnded }));
      if (success.linksRemoved > 0) parts.push(t("admin:outcomes.linksRemoved", { count: success.linksRemoved }));
      if (success.mustEnrol) parts.push(t("admin:outcomes.mustEnrol"));
      return parts.join(" ");
    }
    case "role_unchanged":
      return t("admin:outcomes.roleUnchanged", { role: roleOf(success.role, t) });
    case "disabled":
      return t("admin:outcomes.disabled", { count: success.sessionsEnded });
    case "already_disabled":
      return t("admin:outcomes.alreadyDisabled");
    case "enabled":
      return t("admin:outcomes.enabled");
    case "not_disabled":
      return t("admin:outcomes.notDisabled");
    case "unlocked":
      return t("admin:outcomes.unlocked");
    case "patient_assigned":
      return t("admin:outcomes.patientAssigned", { patient: success.patientName, doctor: success.doctorName });
    case "patient_already_assigned":
      return t("admin:outcomes.patientAlreadyAssigned", { patient: success.patientName, doctor: success.doctorName });
    case "patient_unassigned":
      return t("admin:outcomes.patientUnassigned");
    case "second_factor_reset":
      return describeSecondFactorReset(success.reset, t);
  }
}

/** Why an admin action did nothing, with the HTTP status the refusal gets. */
export function describeAdminRefusal(
  refusal: AdminRefusal,
  t: Translate = englishWords(),
): { status: 400 | 403 | 404; message: string } {
  switch (refusal.reason) {
    case "user_not_found":
      return { status: 404, message: t("admin:refusals.userNotFound") };
    case "own_role":
      return { status: 403, message: t("admin:refusals.ownRole") };
    case "own_account_disabled":
      return { status: 403, message: t("admin:refusals.ownAccountDisabled") };
    case "own_second_factor":
      return { status: 403, message: t("admin:refusals.ownSecondFactor") };
    case "not_a_doctor":
      return { status: 400, message: t("admin:refusals.notADoctor", { name: refusal.name }) };
    case "not_a_patient":
      return { status: 400, message: t("admin:refusals.notAPatient", { name: refusal.name }) };
    case "not_linked":
      return { status: 404, message: t("admin:refusals.notLinked") };
    case "reset_reason_missing":
      return { status: 400, message: t("admin:refusals.resetReasonMissing") };
    case "reset_reason_too_long":
      return { status: 400, message: t("admin:refusals.resetReasonTooLong", { max: refusal.maxLength }) };
    case "too_many_events":
      return { status: 400, message: t("admin:refusals.tooManyEvents", { limit: refusal.limit }) };
  }
}

/** A plain account of a reset, for the admin page and the command line. */
export function describeSecondFactorReset(reset: SecondFactorReset, t: Translate = englishWords()): string {
  const removed = [
    ...describeRemovedMethods(reset.removedMethods, t),
    ...(reset.recoveryCodesRemoved > 0 ? [t("admin:resetDone.recoveryCodes", { count: reset.recoveryCodesRemoved })] : []),
  ];
  const parts = [
    t("admin:resetDone.done", { name: reset.user.name, email: reset.user.email }),
    removed.length ? t("admin:resetDone.removed", { list: removed.join(", ") }) : t("admin:resetDone.nothingRemoved"),
    t("admin:outcomes.sessionsEnded", { count: reset.sessionsEnded }),
  ];
  if (reset.phoneWarnings.sent > 0) parts.push(t("admin:resetDone.phoneWarned"));
  if (reset.phoneWarnings.failed > 0) parts.push(t("admin:resetDone.phoneWarningFailed"));
  parts.push(t(reset.mustEnrolAgain ? "admin:resetDone.mustEnrolAgain" : "admin:resetDone.mayEnrolAgain"));
  return parts.join(" ");
}

/** Why an account was not created, and the field of the new-user form it is about. */
export function describeCreateUserRefusal(
  refusal: Exclude<CreateUserResult, { ok: true }>,
  t: Translate = englishWords(),
): {
  field: "password" | "email";
  message: string;
} {
  switch (refusal.reason) {
    case "weak_password":
      return { field: "password", message: describePasswordProblem(refusal.problem, "their", t) };
    case "email_taken":
      return { field: "email", message: t("admin:refusals.emailTaken") };
  }
}

/** A method as the login page labels it: "With an authenticator app", "By SMS". */
export function labelMethod(kind: string, t: Translate = englishWords()): string {
  const choice = findLoginChoice(kind);
  return choice ? t(choice.label) : kind;
}

/**
 * The factors a reset removed, named as the reset's question names them: "the authenticator app",
 * "the mobile phone" (once, for its SMS and its calls).
 */
function describeRemovedMethods(kinds: readonly string[], t: Translate): string[] {
  const factors = [...new Set(kinds.map((kind) => findFactorPages(kind) ?? kind))];
  return factors.map((factor) => {
    if (typeof factor === "string") return factor;
    return t(factor.removal?.object ?? factor.name);
  });
}

/** A line of the user's page about one of their factors: "Authenticator app: set up 3 Mar 2026, 10:00". */
export function describeFactorFact(
  fact: FactorFact,
  formatDateTime: (date: Date) => string,
  t: Translate = englishWords(),
): { term: string; text: string } {
  const pages = findFactorPages(fact.id);
  return {
    term: pages ? t(pages.name) : fact.id,
    text: pages?.adminFact(fact.summary, { t, dateTime: formatDateTime }) ?? formatDateTime(fact.summary.since ?? new Date(0)),
  };
}

/** The user's factors as a reset removes them: "the authenticator app", "the mobile phone". */
export function describeRemovedFactors(facts: FactorFact[], t: Translate = englishWords()): string[] {
  return facts.map((fact) => {
    const object = findFactorPages(fact.id)?.removal?.object;
    return object ? t(object) : fact.id;
  });
}

/** What a reset also does because of the user's factors ("sends a warning SMS to 06 •• 78"). */
export function describeResetNotices(facts: FactorFact[], t: Translate = englishWords()): string[] {
  return facts.flatMap((fact) => findFactorPages(fact.id)?.resetNotice(fact.summary, { t, dateTime: String }) ?? []);
}
