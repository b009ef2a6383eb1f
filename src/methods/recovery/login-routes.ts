import { Router } from "express";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import { phrase } from "../../web/i18n-helpers.js";
import type { LoginStep } from "../../web/login-step.js";
import { typedCodeLoginHandlers } from "../../web/typed-code-pages.js";

/** /login/2fa/recovery: one of the codes the user saved. */
export function recoveryLoginRoutes(deps: { twoFactor: TwoFactorService; loginStep: LoginStep }) {
  const { showForm, answer } = typedCodeLoginHandlers(deps, {
    kind: "recovery",
    view: "methods/recovery/login",
    title: phrase("methods:recovery.login.title"),
  });
  const router = Router();
  router.get("/", showForm);
  router.post("/", answer);
  return router;
}
