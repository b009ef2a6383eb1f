import type { Role } from "../config.js";
import { factorPages } from "../methods/page-list.js";

export interface EnrolmentChoice {
  href: string;
  /** The button's words: a catalogue key (views/partials/method-chooser translates it). */
  label: string;
  isRecommended: boolean;
  needsBrowserSupport: boolean;
}

/**
 * The factors a user can set up, for the chooser at /enrol and /account/2fa: the one recommended
 * for their role first (among those every browser can do, when the browser cannot do it).
 */
export function enrolmentChoices(role: Role, basePath: string) {
  const choices: EnrolmentChoice[] = factorPages.flatMap((pages) =>
    pages.enrolment
      ? [
          {
            href: `${basePath}/${pages.enrolment.path}`,
            label: pages.enrolment.chooserLabel,
            isRecommended: pages.enrolment.recommendedFor.includes(role),
            needsBrowserSupport: pages.logins.some((choice) => choice.needsBrowserSupport),
          },
        ]
      : [],
  );
  // A recommended choice that needs the browser's support comes first (hidden where it lacks it).
  const rank = (choice: EnrolmentChoice) => (choice.isRecommended ? (choice.needsBrowserSupport ? 2 : 1) : 0);
  choices.sort((a, b) => rank(b) - rank(a));
  return {
    enrolmentChoices: choices,
    scripts: choices.some((choice) => choice.needsBrowserSupport) ? ["/public/js/reveal-supported.js"] : [],
  };
}
