import type { Request } from "express";
import type { Translate } from "../i18n.js";
import type { SessionService } from "../services/sessions.js";
import type { User } from "../services/users.js";
import { wordsOf } from "./i18n-helpers.js";
import type { RememberedBrowserSteps } from "./remembered-browsers.js";

/** Tells a user of a security change where they can be reached (their phone): see methods/services.ts. */
export interface SecurityNotices {
  prepareWarning(userId: number): Promise<(text: string) => Promise<void>>;
}

/** What a change of password was, in the SMS that tells of it (see wordSecurityNotice). */
export const passwordChangedNotice = "account:securityNotice.passwordChanged";

/**
 * The SMS that tells the user of a security change. `what` is a catalogue key: a factor's
 * `removal.warning` or `enrolment.enrolledWarning` (methods.json), or passwordChangedNotice.
 */
export function wordSecurityNotice(t: Translate, what: string): string {
  return t("account:securityNotice.message", { what: t(what) });
}

export type SecurityChangeSteps = ReturnType<typeof createSecurityChangeSteps>;

/** What follows a change of password or second factor, wherever it was made. */
export function createSecurityChangeSteps({
  sessions,
  securityNotices,
  rememberedBrowserSteps,
}: {
  sessions: SessionService;
  securityNotices: SecurityNotices;
  rememberedBrowserSteps: RememberedBrowserSteps;
}) {
  /** Ends the user's other sessions; this one stays valid, under the new generation. */
  async function endOtherSessions(req: Request, user: User): Promise<number> {
    const { count, generation } = await sessions.invalidateUserSessions(user.id, req.sessionID);
    req.session.generation = generation;
    return count;
  }

  /**
   * After a password or factor change: the user's other sessions end, so do the other browsers
   * that skip the second step (one remembered with a factor now replaced must not outlive it),
   * and their phone hears of it, so that someone who changed it behind their back is noticed.
   * `what` is the key of the words for the change (see wordSecurityNotice), null for no SMS. The
   * SMS is in the language of the page: it goes to the signed-in user, whose saved choice the page
   * follows. `warn` was prepared before the change, so a number the change removed still hears of it.
   */
  async function afterSecurityChange(req: Request, user: User, what: string | null, warn?: (text: string) => Promise<void>) {
    await endOtherSessions(req, user);
    await rememberedBrowserSteps.forgetOtherBrowsers(req, user, "second_factor_changed");
    if (!what) return;
    const send = warn ?? (await securityNotices.prepareWarning(user.id));
    await send(wordSecurityNotice(wordsOf(req), what));
  }

  return { endOtherSessions, afterSecurityChange };
}
