import type { PasswordProblem } from "../services/passwords.js";
import type { PasswordChangeResult } from "../services/users.js";

/**
 * Why a new password is refused. `whose` is the owner of the email address: "your" on the user's
 * own password page, "their" where an admin chooses a first password for someone else.
 */
export function describePasswordProblem(problem: PasswordProblem, whose: "your" | "their" = "your"): string {
  switch (problem.rule) {
    case "min_length":
      return `The password must be at least ${problem.minimum} characters long.`;
    case "max_bytes":
      return `The password is too long: at most ${problem.maxBytes} bytes (about ${problem.maxBytes} letters, fewer with accents or emoji).`;
    case "common":
      return "This password is one of the most common passwords and easy to guess. Choose another.";
    case "contains_email":
      return `The password must not contain ${whose} email address.`;
  }
}

/** Why the user's new password was not set. */
export function describePasswordChangeRefusal(refusal: Exclude<PasswordChangeResult, { ok: true }>): string {
  switch (refusal.reason) {
    case "weak_password":
      return describePasswordProblem(refusal.problem);
    case "same_as_current":
      return "Choose a password different from your current one.";
  }
}
