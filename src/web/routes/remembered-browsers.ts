import { Router } from "express";
import { NotFoundError } from "../../services/errors.js";
import type { RememberedBrowsers } from "../../services/remembered-browsers.js";
import type { RememberedBrowserSteps } from "../remembered-browsers.js";
import { requestContext } from "../request-context.js";

/** "Forget this browser" and "forget all browsers", from the security page. Mounted behind requireUser. */
export function rememberedBrowserRoutes({
  rememberedBrowsers,
  rememberedBrowserSteps: steps,
}: {
  rememberedBrowsers: RememberedBrowsers;
  rememberedBrowserSteps: RememberedBrowserSteps;
}) {
  const router = Router();

  router.post("/:id/forget", async (req, res) => {
    const id = /^\d{1,15}$/.test(req.params.id ?? "") ? Number(req.params.id) : null;
    const isThisBrowser = steps.readBrowserKeys(req).some((key) => key.id === id);
    const outcome = id === null ? null : await rememberedBrowsers.forgetBrowser(req.user!.id, id, requestContext(req));
    if (outcome?.status !== "forgotten") throw new NotFoundError("That browser is not among your remembered browsers.");
    steps.dropBrowserKeys(req, res, [outcome.browser.id]);
    req.session.notice = isThisBrowser
      ? "This browser will ask for the second step again at your next login."
      : `${outcome.browser.description} will ask for the second step again at the next login there.`;
    res.redirect(303, "/account/security");
  });

  router.post("/forget-all", async (req, res) => {
    const forgotten = await rememberedBrowsers.forgetBrowsers(req.user!.id, "user_all", requestContext(req));
    steps.dropBrowserKeys(
      req,
      res,
      forgotten.map((browser) => browser.id),
    );
    req.session.notice =
      forgotten.length === 0
        ? "No browser was remembered."
        : "All remembered browsers were forgotten: each will ask for the second step again.";
    res.redirect(303, "/account/security");
  });

  return router;
}
