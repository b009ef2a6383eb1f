import type { FactorPages, LoginChoice } from "./pages.js";
import { factorPages } from "./registry.js";

// Lookups over the factors' pages (registry.ts lists them), for the web layer.
export { factorPages };

/** Every login method as the pages offer it, in the method-choice order. */
export const loginChoices: readonly LoginChoice[] = factorPages.flatMap((pages) => pages.logins);

export function findLoginChoice(kind: string): LoginChoice | undefined {
  return loginChoices.find((choice) => choice.kind === kind);
}

/** The pages of a factor, by its id or the kind of one of its methods (older events name the method). */
export function findFactorPages(idOrKind: string): FactorPages | undefined {
  return factorPages.find((pages) => pages.id === idOrKind || pages.logins.some((choice) => choice.kind === idOrKind));
}

/** The choices of these kinds (a user's enrolled methods), in the method-choice order. */
export function choicesOf(kinds: readonly string[]): LoginChoice[] {
  return loginChoices.filter((choice) => kinds.includes(choice.kind));
}
