import { Router } from "express";
import { choicesOf } from "../../methods/page-list.js";
import type { MethodRouteDeps } from "../../methods/routes.js";
import { phrase } from "../i18n-helpers.js";
import { userFactorsOf } from "../middleware/guards.js";
import { renderPage } from "../render.js";
import { takeNotice } from "../session.js";

/**
 * The choice of method between the password and the signed-in portal, at /login/2fa (behind
 * requireStage("password") and an open attempt); each method's own pages are mounted beside it
 * (methodLoginRoutes).
 */
export function twoFactorLoginRoutes(deps: MethodRouteDeps) {
  const { twoFactor } = deps;
  const router = Router();

  router.get("/", async (req, res) => {
    const user = req.user!;
    const choices = choicesOf(await userFactorsOf(req, twoFactor));
    const buttons = choices.filter((choice) => !choice.isFallback);
    const lastUsed = await twoFactor.findLastUsedKind(user.id);
    renderPage(res, "two-factor/choose", {
      title: phrase("twoFactor:choose.title"),
      choices: buttons,
      fallbacks: choices.filter((choice) => choice.isFallback),
      // The method used last, or the only one, is the suggested button.
      defaultKind: lastUsed ?? (buttons.length === 1 ? buttons[0]!.kind : null),
      lockedUntil: await twoFactor.findLockedUntil(user.id),
      notice: takeNotice(req),
      scripts: buttons.some((choice) => choice.needsBrowserSupport) ? ["/public/js/reveal-supported.js"] : [],
    });
  });

  return router;
}
