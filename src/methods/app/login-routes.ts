import { Router } from "express";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import { phrase } from "../../web/i18n-helpers.js";
import type { LoginStep } from "../../web/login-step.js";
import { typedCodeLoginHandlers } from "../../web/typed-code-pages.js";

/** /login/2fa/app: the code the authenticator app shows. */
export function appLoginRoutes(deps: { twoFactor: TwoFactorService; loginStep: LoginStep }) {
  const { showForm, answer } = typedCodeLoginHandlers(deps, {
    kind: "app",
    view: "methods/app/login",
    title: phrase("methods:app.login.title"),
  });
  const router = Router();
  router.get("/", showForm);
  router.post("/", answer);
  return router;
}
