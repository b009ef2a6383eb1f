import type { Request, Response } from "express";
import type { Config } from "../config.js";
import { showNewRecoveryCodes } from "../methods/recovery/new-codes.js";
import type { RecoveryCodes } from "../methods/recovery/recovery-codes.js";
import type { Clock } from "../services/clock.js";
import { phrase } from "./i18n-helpers.js";
import type { PageLink } from "./limit-pages.js";
import { requestContext } from "./request-context.js";
import { setNotice } from "./session.js";

// What every factor's enrolment pages do once the factor works, wherever they are mounted: at
// /account/2fa/<factor> (a signed-in user adding one) or /enrol/<factor> (a user who must).

export type EnrolmentStep = ReturnType<typeof createEnrolmentStep>;

/** The way back from an enrolment page: the choice of methods, or the security page. */
export function enrolmentBackLink(basePath: string): PageLink {
  return basePath.startsWith("/enrol")
    ? { href: "/enrol", label: phrase("twoFactor:links.backToChoice") }
    : { href: "/account/security", label: phrase("twoFactor:links.backToSecurity") };
}

export function createEnrolmentStep({
  recoveryCodes,
  clock,
  config,
}: {
  recoveryCodes: RecoveryCodes;
  clock: Clock;
  config: Config;
}) {
  /**
   * After a new factor works: the first factor comes with recovery codes, shown once (and so does
   * a factor added when no codes are left); otherwise on with a notice. A forced enrolment goes on
   * where the user was going (their home page unless the login said otherwise), not to settings.
   * `notice` is the catalogue key of the words that say the factor is set up.
   */
  async function finishEnrolment(
    req: Request,
    res: Response,
    { hadFactor, notice, isForced }: { hadFactor: boolean; notice: string; isForced: boolean },
  ) {
    const user = req.user!;
    const continueTo = isForced ? (req.session.returnTo ?? "/") : "/account/security";
    if (!hadFactor || (await recoveryCodes.countRemainingCodes(user.id)) === 0) {
      const codes = await recoveryCodes.issueRecoveryCodes(user.id, "generated", requestContext(req));
      return showNewRecoveryCodes(req, res, { codes, now: clock.now().getTime(), continueTo, config });
    }
    setNotice(req, notice);
    res.redirect(303, continueTo);
  }

  return { finishEnrolment };
}
