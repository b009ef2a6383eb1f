import type { TwoFactorService } from "../../services/two-factor/index.js";
import type { LoginStep } from "../../web/login-step.js";
import { typedCodeLoginRoutes } from "../../web/typed-code-routes.js";

/** /login/2fa/recovery: one of the codes the user saved. */
export function recoveryLoginRoutes(deps: { twoFactor: TwoFactorService; loginStep: LoginStep }) {
  return typedCodeLoginRoutes(deps, { kind: "recovery", view: "methods/recovery/login", title: "Recovery code" });
}
