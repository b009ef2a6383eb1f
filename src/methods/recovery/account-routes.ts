import { type Request, type Response, Router } from "express";
import type { Config } from "../../config.js";
import type { Clock } from "../../services/clock.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import { describeBackupSuggestion } from "../../web/backup-suggestion.js";
import { type Phrase, phrase } from "../../web/i18n-helpers.js";
import { requireRecentAuthentication, userFactorsOf } from "../../web/middleware/guards.js";
import { renderPage } from "../../web/render.js";
import { requestContext } from "../../web/request-context.js";
import type { ResumableActions } from "../../web/step-up.js";
import { readNewRecoveryCodes, renderNewRecoveryCodes, showNewRecoveryCodes } from "./new-codes.js";
import type { RecoveryCodes } from "./recovery-codes.js";

/** New recovery codes can be shown again (a reload) for this long, until the user saved them. */
const newCodesShownForMs = 30 * 60_000;

/** The signed-in user's recovery codes, under /account. */
export function recoveryAccountRoutes({
  config,
  clock,
  twoFactor,
  recoveryCodes,
  resumableActions,
}: {
  config: Config;
  clock: Clock;
  twoFactor: TwoFactorService;
  recoveryCodes: RecoveryCodes;
  resumableActions: ResumableActions;
}) {
  const router = Router();

  // Where a login with a recovery code lands: how many are left, and a nudge when few are.
  router.get("/recovery-code-used", async (req, res) => {
    renderPage(res, "methods/recovery/used", {
      title: phrase("methods:recovery.used.title"),
      remaining: await recoveryCodes.countRemainingCodes(req.user!.id),
    });
  });

  router.get("/recovery-codes", async (req, res) => {
    renderPage(res, "methods/recovery/codes", {
      title: phrase("methods:recovery.codes.title"),
      remaining: await recoveryCodes.countRemainingCodes(req.user!.id),
      hasSecondFactor: await twoFactor.hasSecondFactor(req.user!.id),
    });
  });

  async function regenerateCodes(req: Request, res: Response) {
    const user = req.user!;
    if (!(await twoFactor.hasSecondFactor(user.id))) return res.redirect(303, "/account/security");
    const codes = await recoveryCodes.issueRecoveryCodes(user.id, "regenerated", requestContext(req));
    await showNewRecoveryCodes(req, res, { codes, now: clock.now().getTime(), continueTo: "/account/security", config });
  }

  router.post("/recovery-codes", requireRecentAuthentication(clock, "/account/recovery-codes"), regenerateCodes);
  resumableActions.add({
    matches: (path) => path === "/account/recovery-codes",
    words: () => "methods:recovery.newSetAction",
    run: regenerateCodes,
  });

  // The new codes, shown by a GET (a reload shows them again) until the user says they saved them.
  router.get("/recovery-codes/new", (req, res) => {
    const fresh = req.session.newRecoveryCodes;
    const codes = readNewRecoveryCodes(req, config);
    if (!fresh || !codes || clock.now().getTime() - fresh.createdAt > newCodesShownForMs)
      return res.redirect(303, "/account/recovery-codes");
    renderNewRecoveryCodes(res, req.user!, codes, config.portalName);
  });

  router.post("/recovery-codes/saved", async (req, res) => {
    const continueTo = req.session.newRecoveryCodes?.continueTo ?? "/account/security";
    delete req.session.newRecoveryCodes;
    req.session.notice = await describeSavedNotice(req);
    res.redirect(303, continueTo);
  });

  /** Two-step login is on; after the first method, a second one as a back-up (the security page offers it too). */
  async function describeSavedNotice(req: Request): Promise<Phrase> {
    const suggestion = describeBackupSuggestion(await userFactorsOf(req, twoFactor));
    return suggestion
      ? phrase("methods:recovery.savedNoticeWithBackup", { words: phrase(suggestion.words), why: phrase(suggestion.why) })
      : phrase("methods:recovery.savedNotice");
  }

  return router;
}
