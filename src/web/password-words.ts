import { englishWords, type Translate } from "../i18n.js";
import type { PasswordProblem } from "../services/passwords.js";
import type { PasswordChangeResult } from "../services/users.js";

// The password policy in words (locales/<language>/account.json, "passwordPolicy"). The pages pass
// their own words (wordsOf(req)); the command line has no page and reads English.

/**
 * Why a new password is refused. `whose` is the owner of the email address: "your" on the user's
 * own password page, "their" where an admin chooses a first password for someone else.
 */
export function describePasswordProblem(
  problem: PasswordProblem,
  whose: "your" | "their" = "your",
  t: Translate = englishWords(),
): string {
  switch (problem.rule) {
    case "min_length":
      return t("account:passwordPolicy.minLength", { minimum: problem.minimum });
    case "max_bytes":
      return t("account:passwordPolicy.maxBytes", { maxBytes: problem.maxBytes });
    case "common":
      return t("account:passwordPolicy.common");
    case "contains_email":
      return t(whose === "your" ? "account:passwordPolicy.containsEmail.your" : "account:passwordPolicy.containsEmail.their");
  }
}

/** Why the user's new password was not set. */
export function describePasswordChangeRefusal(
  refusal: Exclude<PasswordChangeResult, { ok: true }>,
  t: Translate = englishWords(),
): string {
  switch (refusal.reason) {
    case "weak_password":
      return describePasswordProblem(refusal.problem, "your", t);
    case "same_as_current":
      return t("account:passwordPolicy.sameAsCurrent");
  }
}
