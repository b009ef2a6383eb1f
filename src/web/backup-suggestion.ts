import { choicesOf, factorPages } from "../methods/page-list.js";
import type { MethodKind } from "../services/two-factor/index.js";

/**
 * Which method to suggest as a back-up to a user with exactly one real factor: the first one
 * they can set up on any browser and do not have. Null when they have none, or two already.
 * The words are catalogue keys, for the page to translate: "Add your phone as a back-up" (words,
 * the suggested method's), "so you can still log in without the app." (why: the reason is the
 * method the user has, which may be lost) and the button, "Add your phone" (label).
 */
export function describeBackupSuggestion(
  enrolledKinds: readonly MethodKind[],
): { href: string; words: string; why: string; label: string } | null {
  const enrolledIds = factorPages
    .filter((pages) => pages.enrolment && choicesOf(enrolledKinds).some((choice) => pages.logins.includes(choice)))
    .map((pages) => pages.id);
  const only = factorPages.find((pages) => pages.id === enrolledIds[0]);
  if (enrolledIds.length !== 1 || !only?.enrolment) return null;
  const suggested = factorPages.find(
    (pages) => pages.enrolment && !enrolledIds.includes(pages.id) && pages.logins.every((choice) => !choice.needsBrowserSupport),
  );
  if (!suggested?.enrolment) return null;
  const { path, backupWords, backupLabel } = suggested.enrolment;
  return { href: `/account/2fa/${path}`, words: backupWords, why: only.enrolment.backupWhy, label: backupLabel };
}
