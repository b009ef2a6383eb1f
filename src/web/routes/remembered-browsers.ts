import { Router } from "express";
import { NotFoundError } from "../../services/errors.js";
import type { RememberedBrowsers } from "../../services/remembered-browsers.js";
import { phrase } from "../i18n-helpers.js";
import type { RememberedBrowserSteps } from "../remembered-browsers.js";
import { requestContext } from "../request-context.js";
import { setNotice } from "../session.js";

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
    if (outcome?.status !== "forgotten") throw new NotFoundError(phrase("errors:messages.browserNotFound"));
    steps.dropBrowserKeys(req, res, [outcome.browser.id]);
    if (isThisBrowser) setNotice(req, "account:browsers.forgotThis");
    else setNotice(req, "account:browsers.forgotOther", { browser: outcome.browser.description });
    res.redirect(303, "/account/security");
  });

  router.post("/forget-all", async (req, res) => {
    const forgotten = await rememberedBrowsers.forgetBrowsers(req.user!.id, "user_all", requestContext(req));
    steps.dropBrowserKeys(
      req,
      res,
      forgotten.map((browser) => browser.id),
    );
    setNotice(req, forgotten.length === 0 ? "account:browsers.noneToForget" : "account:browsers.forgotAll");
    res.redirect(303, "/account/security");
  });

  return router;
}
