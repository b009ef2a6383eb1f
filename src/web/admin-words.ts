import { englishWords, type Translate } from "../i18n.js";
import { findFactorPages, findLoginChoice } from "../methods/page-list.js";
import type { AdminRefusal, AdminSuccess, FactorFact, SecondFactorReset } from "../services/admin/index.js";
import type { CreateUserResult, User } from "../services/users.js";
import { describePasswordProblem } from "./password-words.js";

// The sentences of the administration, from the outcomes its services return. The command line
// (src/cli.ts) uses the same words.

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** What an admin action did, for the notice at the top of the user's page. */
export function describeAdminOutcome(success: AdminSuccess): string {
  switch (success.outcome) {
    case "role_changed": {
      const parts = [`The role changed from ${success.from} to ${success.to}.`];
      if (success.sessionsEnded > 0) parts.push(`${plural(success.sessionsEnded, "active session")} ended.`);
      if (success.linksRemoved > 0) {
        parts.push(
          `${plural(success.linksRemoved, "doctor–patient link")} ${success.linksRemoved === 1 ? "was" : "were"} removed.`,
        );
      }
      if (success.mustEnrol) parts.push("They will set up two-step login at their next login.");
      return parts.join(" ");
    }
    case "role_unchanged":
      return `The role was already ${success.role}; nothing changed.`;
    case "disabled":
      return `The account is disabled; ${plural(success.sessionsEnded, "active session")} ended.`;
    case "already_disabled":
      return "The account was already disabled.";
    case "enabled":
      return "The account is enabled again.";
    case "not_disabled":
      return "The account was not disabled.";
    case "unlocked":
      return "The account is unlocked: the user can log in and use their second factor again.";
    case "patient_assigned":
      return `${success.patientName} is now a patient of ${success.doctorName}.`;
    case "patient_already_assigned":
      return `${success.patientName} was already a patient of ${success.doctorName}.`;
    case "patient_unassigned":
      return "The patient is no longer linked to the doctor.";
    case "second_factor_reset":
      return describeSecondFactorReset(success.reset);
  }
}

/** Why an admin action did nothing, with the HTTP status the refusal gets. */
export function describeAdminRefusal(refusal: AdminRefusal): { status: 400 | 403 | 404; message: string } {
  switch (refusal.reason) {
    case "user_not_found":
      return { status: 404, message: "There is no user with that number." };
    case "own_role":
      return { status: 403, message: "You cannot change your own role. Ask another admin to do it." };
    case "own_account_disabled":
      return { status: 403, message: "You cannot disable your own account." };
    case "own_second_factor":
      return {
        status: 403,
        message: "You cannot reset your own second factor. Ask another admin, or manage your methods in your security settings.",
      };
    case "not_a_doctor":
      return { status: 400, message: `${refusal.name} is not a doctor.` };
    case "not_a_patient":
      return { status: 400, message: `${refusal.name} is not a patient.` };
    case "not_linked":
      return { status: 404, message: "That patient is not linked to that doctor." };
    case "reset_reason_missing":
      return { status: 400, message: "Give the reason for the reset (for example: lost phone, new phone)." };
    case "reset_reason_too_long":
      return { status: 400, message: `The reason is too long: at most ${refusal.maxLength} characters.` };
    case "too_many_events":
      return {
        status: 400,
        message: `More than ${refusal.limit.toLocaleString("en-GB")} events match. Choose a shorter date range or another filter.`,
      };
  }
}

/** A plain account of a reset, for the admin page and the command line. */
export function describeSecondFactorReset(reset: SecondFactorReset): string {
  const removed = [
    ...reset.removedMethods.map((kind) => describeMethod(kind)),
    ...(reset.recoveryCodesRemoved > 0 ? [plural(reset.recoveryCodesRemoved, "recovery code")] : []),
  ];
  const parts = [
    `Two-step login of ${reset.user.name} (${reset.user.email}) was reset.`,
    removed.length ? `Removed: ${removed.join(", ")}.` : "They had no methods or recovery codes.",
    `${plural(reset.sessionsEnded, "active session")} ended.`,
  ];
  if (reset.phoneWarnings.sent > 0) parts.push("The old phone number was warned by SMS.");
  if (reset.phoneWarnings.failed > 0) parts.push("Warning the old phone number failed.");
  parts.push(
    reset.mustEnrolAgain
      ? "They must set up a new method at their next login."
      : "They can log in with their password and set up a new method if they want.",
  );
  return parts.join(" ");
}

export function describeUserCreated(user: Pick<User, "name">): string {
  return `The account of ${user.name} was created. At their first login they must choose a new password.`;
}

/** Why an account was not created, and the field of the new-user form it is about. */
export function describeCreateUserRefusal(refusal: Exclude<CreateUserResult, { ok: true }>): {
  field: "password" | "email";
  message: string;
} {
  switch (refusal.reason) {
    case "weak_password":
      return { field: "password", message: describePasswordProblem(refusal.problem, "their") };
    case "email_taken":
      return { field: "email", message: "An account with this email address already exists." };
  }
}

/** A method as the login page labels it: "With an authenticator app", "By SMS". */
export function labelMethod(kind: string, t: Translate = englishWords()): string {
  const choice = findLoginChoice(kind);
  return choice ? t(choice.label) : kind;
}

/** A method as a sentence names it: "the authenticator app", "an SMS code". */
export function describeMethod(kind: string, t: Translate = englishWords()): string {
  const choice = findLoginChoice(kind);
  return choice ? t(choice.eventName) : kind;
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
